"""Approval requests for the console: listed in scope, decided through the playbook engine.

The engine checks what it always checks (reason given, request still open,
separation of duties, the approver's roles and store scope). A console
account with the approver role is an approver for the policy's default roles
within its own scope, unless respond.yaml lists that user name (then its entry
rules, as for `vigil respond approve`).
"""

from __future__ import annotations

from collections.abc import Sequence

from vigil.console.auth.types import Principal
from vigil.console.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from vigil.console.state import Console
from vigil.respond.approvals import ApprovalPolicy, ApprovalRequest, ApprovalStatus, Approver, Vote
from vigil.respond.errors import RespondError
from vigil.respond.playbooks.errors import (
    ApprovalClosedError,
    DuplicateDecisionError,
    MissingReasonError,
    NotAnApproverError,
    OutOfScopeError,
    SeparationOfDutiesError,
    UnknownApprovalError,
)
from vigil.respond.store import ResponseStore

REFUSED = (SeparationOfDutiesError, NotAnApproverError, OutOfScopeError)
CLOSED = (ApprovalClosedError, DuplicateDecisionError)


def approvals(
    console: Console, principal: Principal, statuses: Sequence[ApprovalStatus] | None
) -> list[ApprovalRequest]:
    """Requests of the caller's scope (all of an incident's stores in it), oldest first."""
    found = ResponseStore(console.database).approvals(statuses=statuses)
    return [request for request in found if principal.scope.covers_all(request.stores)]


def _visible(console: Console, principal: Principal, uid: str) -> ApprovalRequest:
    try:
        request = ResponseStore(console.database).approval(uid)
    except UnknownApprovalError as error:
        raise NotFoundError(f"no approval {uid!r}") from error
    if request.uid != uid or not principal.scope.covers_all(request.stores):
        raise NotFoundError(f"no approval {uid!r}")
    return request


def with_console_approver(policy: ApprovalPolicy, principal: Principal) -> ApprovalPolicy:
    """The policy, with the caller as an approver for the default roles in their scope."""
    if policy.approver(principal.name) is not None:
        return policy
    scope = principal.scope
    approver = Approver(
        user=principal.name,
        roles=list(policy.defaults.roles),
        stores=[] if scope.everything else sorted(scope.stores),
    )
    if not scope.everything and not scope.stores:
        return policy
    return policy.model_copy(update={"approvers": [*policy.approvers, approver]})


def decide(
    console: Console, principal: Principal, uid: str, vote: Vote, reason: str, source: str
) -> ApprovalRequest:
    """Approve or reject one request in scope; the engine runs the step once it is approved."""
    _visible(console, principal, uid)
    try:
        responder = console.responder()
        responder.rt.policy = with_console_approver(responder.rt.policy, principal)
        return responder.decide(uid, principal.name, vote, reason, f"console {source}")
    except MissingReasonError as error:
        raise InvalidInputError(str(error)) from error
    except REFUSED as error:
        raise ForbiddenError(str(error)) from error
    except CLOSED as error:
        raise ConflictError(str(error)) from error
    except RespondError as error:
        raise ConflictError(str(error)) from error
