"""Response state in the operational database: runs, step states, approvals, decisions, modes.

Every write is its own transaction, committed before the engine moves on, so a
crash leaves the last thing that happened on disk. `DatabaseLedger` (in
`vigil.respond.dbledger`) keeps the actions' idempotency ledger in the same
database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.respond.actions import load_result
from vigil.respond.approvals import ApprovalRequest, ApprovalStatus, Decision, Vote, tally
from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks.errors import (
    ApprovalClosedError,
    UnknownApprovalError,
    UnknownRunError,
)
from vigil.respond.playbooks.runs import RunRecord, RunStatus, StepRecord, StepStatus
from vigil.respond.playbooks.types import Playbook
from vigil.respond.types import RiskLevel
from vigil.store.database import Database
from vigil.store.models import (
    ResponseApproval,
    ResponseDecision,
    ResponseModeSetting,
    ResponseRun,
    ResponseStep,
)


def utc(moment: datetime) -> datetime:
    """Aware, in UTC (SQLite hands datetimes back naive: they were stored in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _maybe(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def _run(row: ResponseRun) -> RunRecord:
    return RunRecord(
        uid=row.uid,
        incident_uid=row.incident_uid,
        playbook=Playbook.model_validate(row.playbook),
        status=RunStatus(row.status),
        mode=ResponseMode(row.mode),
        mode_why=row.mode_why,
        requested_by=row.requested_by,
        current_step=row.current_step,
        started_at=utc(row.started_at),
        updated_at=utc(row.updated_at),
        finished_at=_maybe(row.finished_at),
        detail=row.detail,
    )


def _step(row: ResponseStep) -> StepRecord:
    return StepRecord(
        run_uid=row.run_uid,
        step_id=row.step_id,
        status=StepStatus(row.status),
        action=row.action,
        params=tuple(row.params),
        results=tuple(load_result(json.dumps(result)) for result in row.results),
        approval_uid=row.approval_uid,
        detail=row.detail,
        started_at=_maybe(row.started_at),
        finished_at=_maybe(row.finished_at),
    )


def _decision(row: ResponseDecision) -> Decision:
    return Decision(
        approver=row.approver,
        vote=Vote(row.vote),
        at=utc(row.at),
        source=row.source,
        reason=row.reason,
    )


def _approval(session: Session, row: ResponseApproval) -> ApprovalRequest:
    decisions = session.scalars(
        select(ResponseDecision)
        .where(ResponseDecision.approval_uid == row.uid)
        .order_by(ResponseDecision.id)
    )
    return ApprovalRequest(
        uid=row.uid,
        run_uid=row.run_uid,
        step_id=row.step_id,
        incident_uid=row.incident_uid,
        playbook_id=row.playbook_id,
        action=row.action,
        risk=RiskLevel(row.risk),
        impact=row.impact,
        why=row.why,
        requested_by=row.requested_by,
        requested_at=utc(row.requested_at),
        expires_at=utc(row.expires_at),
        escalate_at=_maybe(row.escalate_at),
        escalated_at=_maybe(row.escalated_at),
        status=ApprovalStatus(row.status),
        roles=tuple(row.roles),
        escalation_roles=tuple(row.escalation_roles),
        quorum=row.quorum,
        stores=dict(row.stores),
        decisions=tuple(_decision(decision) for decision in decisions),
        closed_at=_maybe(row.closed_at),
    )


class ResponseStore:
    """Typed reads and writes of the response tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    # -- runs --------------------------------------------------------------------------

    def create_run(self, record: RunRecord) -> tuple[RunRecord, bool]:
        """Store a new run; the stored one (and False) if a run with its uid exists."""
        with self.database.session() as session:
            found = session.get(ResponseRun, record.uid)
            if found is not None:
                return _run(found), False
            session.add(
                ResponseRun(
                    uid=record.uid,
                    incident_uid=record.incident_uid,
                    playbook_id=record.playbook.id,
                    playbook=record.playbook.dump(),
                    status=record.status.value,
                    mode=record.mode.value,
                    mode_why=record.mode_why,
                    requested_by=record.requested_by,
                    current_step=record.current_step,
                    started_at=record.started_at,
                    updated_at=record.updated_at,
                    finished_at=record.finished_at,
                    detail=record.detail,
                )
            )
        return record, True

    def run(self, uid: str) -> RunRecord:
        with self.database.session() as session:
            row = session.get(ResponseRun, uid)
            if row is None:
                raise UnknownRunError(f"no playbook run {uid!r}")
            return _run(row)

    def runs(
        self, incident_uid: str | None = None, statuses: Sequence[RunStatus] | None = None
    ) -> list[RunRecord]:
        query = select(ResponseRun).order_by(ResponseRun.started_at, ResponseRun.uid)
        if incident_uid is not None:
            query = query.where(ResponseRun.incident_uid == incident_uid)
        if statuses:
            query = query.where(ResponseRun.status.in_([s.value for s in statuses]))
        with self.database.session() as session:
            return [_run(row) for row in session.scalars(query)]

    def update_run(
        self,
        uid: str,
        now: datetime,
        status: RunStatus,
        current_step: str | None,
        detail: str | None = None,
    ) -> RunRecord:
        with self.database.session() as session:
            row = session.get(ResponseRun, uid)
            if row is None:
                raise UnknownRunError(f"no playbook run {uid!r}")
            row.status = status.value
            row.current_step = current_step
            row.updated_at = now
            if status.finished:
                row.finished_at = now
            if detail is not None:
                row.detail = detail
            return _run(row)

    # -- steps -------------------------------------------------------------------------

    def step(self, run_uid: str, step_id: str) -> StepRecord | None:
        with self.database.session() as session:
            row = session.get(ResponseStep, (run_uid, step_id))
            return None if row is None else _step(row)

    def steps(self, run_uid: str) -> list[StepRecord]:
        query = (
            select(ResponseStep)
            .where(ResponseStep.run_uid == run_uid)
            .order_by(ResponseStep.started_at, ResponseStep.step_id)
        )
        with self.database.session() as session:
            return [_step(row) for row in session.scalars(query)]

    def put_step(self, record: StepRecord) -> StepRecord:
        """Write a step's state (insert or replace), committed at once."""
        with self.database.session() as session:
            row = session.get(ResponseStep, (record.run_uid, record.step_id))
            if row is None:
                row = ResponseStep(run_uid=record.run_uid, step_id=record.step_id)
                session.add(row)
            row.status = record.status.value
            row.action = record.action
            row.params = [dict(params) for params in record.params]
            row.results = [result.model_dump(mode="json") for result in record.results]
            row.approval_uid = record.approval_uid
            row.detail = record.detail
            row.started_at = record.started_at
            row.finished_at = record.finished_at
        return record

    # -- approvals ---------------------------------------------------------------------

    def add_approval(self, request: ApprovalRequest) -> tuple[ApprovalRequest, bool]:
        """Store a request; the stored one (and False) if its uid exists: a step asks once."""
        with self.database.session() as session:
            found = session.get(ResponseApproval, request.uid)
            if found is not None:
                return _approval(session, found), False
            session.add(
                ResponseApproval(
                    uid=request.uid,
                    run_uid=request.run_uid,
                    step_id=request.step_id,
                    incident_uid=request.incident_uid,
                    playbook_id=request.playbook_id,
                    action=request.action,
                    risk=request.risk.value,
                    impact=request.impact,
                    why=request.why,
                    requested_by=request.requested_by,
                    requested_at=request.requested_at,
                    expires_at=request.expires_at,
                    escalate_at=request.escalate_at,
                    escalated_at=request.escalated_at,
                    closed_at=request.closed_at,
                    status=request.status.value,
                    roles=list(request.roles),
                    escalation_roles=list(request.escalation_roles),
                    quorum=request.quorum,
                    stores=dict(request.stores),
                )
            )
        return request, True

    def approval(self, uid: str) -> ApprovalRequest:
        """One request by id, or by a prefix of it that matches only one."""
        with self.database.session() as session:
            row = session.get(ResponseApproval, uid)
            if row is None:
                query = select(ResponseApproval).where(
                    ResponseApproval.uid.startswith(uid, autoescape=True)
                )
                found = list(session.scalars(query.limit(2))) if uid else []
                if len(found) != 1:
                    what = "no approval" if not found else "several approvals"
                    raise UnknownApprovalError(f"{what} matching {uid!r}")
                row = found[0]
            return _approval(session, row)

    def approvals(
        self, statuses: Sequence[ApprovalStatus] | None = None, run_uid: str | None = None
    ) -> list[ApprovalRequest]:
        query = select(ResponseApproval).order_by(
            ResponseApproval.requested_at, ResponseApproval.uid
        )
        if statuses:
            query = query.where(ResponseApproval.status.in_([s.value for s in statuses]))
        if run_uid is not None:
            query = query.where(ResponseApproval.run_uid == run_uid)
        with self.database.session() as session:
            return [_approval(session, row) for row in session.scalars(query)]

    def decide(self, uid: str, decision: Decision) -> ApprovalRequest:
        """Add a decision and settle the request's status, in one transaction."""
        with self.database.session() as session:
            row = session.get(ResponseApproval, uid, with_for_update=True)
            if row is None:
                raise UnknownApprovalError(f"no approval {uid!r}")
            if row.status != ApprovalStatus.PENDING.value:
                raise ApprovalClosedError(f"approval {uid} is already {row.status}")
            session.add(
                ResponseDecision(
                    approval_uid=uid,
                    approver=decision.approver,
                    vote=decision.vote.value,
                    at=decision.at,
                    source=decision.source,
                    reason=decision.reason,
                )
            )
            session.flush()
            request = _approval(session, row)
            status = tally(request.decisions, request.quorum)
            if status is not ApprovalStatus.PENDING:
                row.status = status.value
                row.closed_at = decision.at
            return replace(
                request,
                status=status,
                closed_at=decision.at if status is not ApprovalStatus.PENDING else None,
            )

    def close_approval(self, uid: str, status: ApprovalStatus, now: datetime) -> bool:
        """Close a pending request (expiry); False if it was no longer pending."""
        with self.database.session() as session:
            row = session.get(ResponseApproval, uid, with_for_update=True)
            if row is None or row.status != ApprovalStatus.PENDING.value:
                return False
            row.status = status.value
            row.closed_at = now
            return True

    def mark_escalated(self, uid: str, now: datetime) -> bool:
        with self.database.session() as session:
            row = session.get(ResponseApproval, uid, with_for_update=True)
            if row is None or row.escalated_at is not None:
                return False
            row.escalated_at = now
            return True

    # -- modes -------------------------------------------------------------------------

    def modes(self) -> dict[str, ResponseMode]:
        """Modes set at run time, by scope (`store:031`, `region:west`, `default`)."""
        with self.database.session() as session:
            return {
                row.scope: ResponseMode(row.mode)
                for row in session.scalars(select(ResponseModeSetting))
            }

    def set_mode(
        self, scope: str, mode: ResponseMode, by: str, at: datetime, reason: str
    ) -> ResponseMode | None:
        """Set a scope's mode; returns the one set before, if any."""
        with self.database.session() as session:
            row = session.get(ResponseModeSetting, scope)
            previous = None if row is None else ResponseMode(row.mode)
            if row is None:
                row = ResponseModeSetting(scope=scope)
                session.add(row)
            row.mode = mode.value
            row.set_by = by
            row.set_at = at
            row.reason = reason
            return previous
