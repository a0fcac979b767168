"""`/api/approvals`: the inbox and one-tap decisions (approver role, in scope, never one's own)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from vigil.console.approvals import service
from vigil.console.approvals.schemas import ApprovalRead, DecisionCreate
from vigil.console.deps import Approver, ConsoleDep, Viewer, source_of
from vigil.console.errors import InvalidInputError
from vigil.respond.approvals import ApprovalStatus, Vote

router = APIRouter(prefix="/api/approvals", tags=["approvals"])


@router.get("")
def list_approvals(
    principal: Viewer,
    console: ConsoleDep,
    status: Annotated[
        str, Query(description="pending, approved, rejected, expired, or all.")
    ] = "pending",
) -> list[ApprovalRead]:
    """Approval requests in scope, oldest first."""
    if status == "all":
        statuses = None
    elif status in {item.value for item in ApprovalStatus}:
        statuses = [ApprovalStatus(status)]
    else:
        raise InvalidInputError(f"unknown status {status!r}")
    return [ApprovalRead.of(item) for item in service.approvals(console, principal, statuses)]


@router.post("/{uid}/approve")
def approve(
    uid: str, body: DecisionCreate, principal: Approver, console: ConsoleDep, request: Request
) -> ApprovalRead:
    """Approve a waiting step; once the quorum is reached it runs."""
    decided = service.decide(console, principal, uid, Vote.APPROVE, body.reason, source_of(request))
    return ApprovalRead.of(decided)


@router.post("/{uid}/reject")
def reject(
    uid: str, body: DecisionCreate, principal: Approver, console: ConsoleDep, request: Request
) -> ApprovalRead:
    """Reject a waiting step: it does not run."""
    decided = service.decide(console, principal, uid, Vote.REJECT, body.reason, source_of(request))
    return ApprovalRead.of(decided)
