"""The playbook engine: start runs on incidents, advance them, take decisions, keep time.

    responder = Responder(Runtime(database, backends, policy, modes, estate), playbooks)
    responder.start(incident_uid, requested_by="ana")     # runs until a step waits
    responder.decide(approval_id, "erossi", Vote.APPROVE, "lane 3 beacons", "console 10.0.0.7")
    responder.tick()                                       # escalations and expiries
    responder.recover()                                    # after a restart

Everything the engine decides and does goes into the hash-chained audit log.
Incidents are acknowledged when a person first starts a run or decides on one
of its steps, and contained when a containing step succeeds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from vigil.correlate.types import Incident
from vigil.respond.approvals import ApprovalRequest, ApprovalStatus, Decision, Vote, check_decider
from vigil.respond.ledger import execution_key
from vigil.respond.modes import ModeDecision, incident_mode
from vigil.respond.playbooks.errors import (
    ApprovalError,
    MissingReasonError,
    RunError,
    UnknownPlaybookError,
)
from vigil.respond.playbooks.matching import applies
from vigil.respond.playbooks.plan import Plan, plan
from vigil.respond.playbooks.runs import RunRecord, RunStatus
from vigil.respond.playbooks.runtime import SYSTEM, Runtime
from vigil.respond.playbooks.steps import Outcome, run_action, run_branch
from vigil.respond.playbooks.types import END, BranchStep, Playbook

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TickReport:
    """What one `tick` did: requests escalated and expired, runs moved on."""

    escalated: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()
    runs: tuple[RunRecord, ...] = ()


def _due(moment: datetime | None, now: datetime) -> bool:
    return moment is not None and now >= moment


def run_uid(incident_uid: str, playbook: Playbook) -> str:
    """A run's uid: one run per incident, playbook and playbook version."""
    return execution_key(incident_uid, playbook.id, f"v{playbook.version}")


class Responder:
    """Runs playbooks on incidents, with approvals, modes and crash recovery."""

    def __init__(self, runtime: Runtime, playbooks: Sequence[Playbook]) -> None:
        self.rt = runtime
        self.playbooks = {playbook.id: playbook for playbook in playbooks}

    def playbook(self, playbook_id: str) -> Playbook:
        try:
            return self.playbooks[playbook_id]
        except KeyError:
            known = ", ".join(sorted(self.playbooks)) or "none"
            raise UnknownPlaybookError(f"no playbook {playbook_id!r}; loaded: {known}") from None

    def mode(self, incident: Incident) -> ModeDecision:
        return incident_mode(incident.stores, self.rt.estate, self.rt.modes, self.rt.store.modes())

    def matching(self, incident: Incident) -> list[Playbook]:
        """The playbooks the incident triggers now (trigger and conditions)."""
        situation = self.rt.situation(incident)
        return [p for p in self.playbooks.values() if applies(p, situation).holds]

    def plan(self, incident_uid: str, playbook_id: str | None = None) -> list[Plan]:
        """Dry run: what the matching playbooks (or the one named) would do now."""
        incident = self.rt.source.get(incident_uid)
        situation = self.rt.situation(incident)
        chosen = [self.playbook(playbook_id)] if playbook_id else self.matching(incident)
        mode = self.mode(incident)
        return [plan(playbook, situation, mode, self.rt.policy) for playbook in chosen]

    # -- runs ------------------------------------------------------------------------------

    def start(
        self, incident_uid: str, requested_by: str, playbook_id: str | None = None
    ) -> list[RunRecord]:
        """Start (or find) the runs of the matching playbooks, or of the one named, and advance them."""
        incident = self.rt.source.get(incident_uid)
        chosen = [self.playbook(playbook_id)] if playbook_id else self.matching(incident)
        self.rt.acknowledge(incident.uid, requested_by)
        mode = self.mode(incident)
        runs = []
        for playbook in chosen:
            now = self.rt.clock()
            record = RunRecord(
                uid=run_uid(incident.uid, playbook),
                incident_uid=incident.uid,
                playbook=playbook,
                status=RunStatus.RUNNING,
                mode=mode.mode,
                mode_why=mode.why,
                requested_by=requested_by,
                current_step=playbook.steps[0].id,
                started_at=now,
                updated_at=now,
            )
            run, created = self.rt.store.create_run(record)
            if created:
                self.rt.audit(
                    requested_by,
                    "respond.run.start",
                    run.uid,
                    {
                        "incident": incident.uid,
                        "playbook": playbook.id,
                        "version": playbook.version,
                        "mode": mode.mode.value,
                        "mode_why": mode.why,
                    },
                )
            runs.append(self.advance(run.uid))
        return runs

    def respond(self, incident_uid: str) -> list[RunRecord]:
        """Automatic response: start the matching playbooks as the system (idempotent)."""
        return self.start(incident_uid, SYSTEM)

    def advance(self, uid: str) -> RunRecord:
        """Run steps until one waits, the run ends, or a step is unsafe to resume."""
        run = self.rt.store.run(uid)
        if run.status.finished:
            return run
        situation = self.rt.situation(self.rt.source.get(run.incident_uid))
        for _ in range(len(run.playbook.steps) + 1):
            if run.current_step is None or run.current_step == END:
                return self._finish(run, RunStatus.COMPLETED, None)
            step = run.playbook.step(run.current_step)
            outcome: Outcome
            if isinstance(step, BranchStep):
                outcome = run_branch(self.rt, run, step, situation)
            else:
                outcome = run_action(self.rt, run, step, situation)
            now = self.rt.clock()
            if outcome.wait:
                if run.status is RunStatus.WAITING:
                    return run
                return self.rt.store.update_run(
                    uid, now, RunStatus.WAITING, step.id, outcome.detail
                )
            if outcome.status is not None:
                return self._finish(run, outcome.status, outcome.detail)
            run = self.rt.store.update_run(uid, now, RunStatus.RUNNING, outcome.next_step)
        raise RunError(f"run {uid} visited more steps than its playbook has")

    def _finish(self, run: RunRecord, status: RunStatus, detail: str | None) -> RunRecord:
        counts = Counter(step.status for step in self.rt.store.steps(run.uid))
        tally = ", ".join(f"{n} {s.value}" for s, n in sorted(counts.items()))
        words = f"{detail}; steps: {tally}" if detail else f"steps: {tally}"
        finished = self.rt.store.update_run(
            run.uid, self.rt.clock(), status, run.current_step, words
        )
        self.rt.audit(
            SYSTEM, "respond.run.finish", run.uid, {"status": status.value, "detail": words}
        )
        if status is RunStatus.INTERRUPTED:
            logger.warning("run %s interrupted: %s", run.uid, words)
        return finished

    def recover(self) -> list[RunRecord]:
        """After a restart: advance the runs a stop left behind (returns those that moved).

        A `running` run was inside a step; a `waiting` one may have had its approval
        decided just before the process stopped.
        """
        moved = []
        for run in self.rt.store.runs(statuses=[RunStatus.RUNNING, RunStatus.WAITING]):
            after = self.advance(run.uid)
            if after.status is not run.status or after.current_step != run.current_step:
                moved.append(after)
        return moved

    # -- approvals ---------------------------------------------------------------------------

    def decide(
        self, approval: str, user: str, vote: Vote, reason: str, source: str
    ) -> ApprovalRequest:
        """Record one person's decision (who, when, from where, why), then move the run on."""
        request = self.rt.store.approval(approval)
        now = self.rt.clock()
        pending = request.status is ApprovalStatus.PENDING
        if pending and now >= request.expires_at and self._expire(request):
            self.advance(request.run_uid)
        try:
            if not reason.strip():
                raise MissingReasonError("a decision needs a reason (--reason)")
            check_decider(request, user, self.rt.policy, now)
        except ApprovalError as error:
            self.rt.audit(
                user,
                "respond.approval.refused",
                request.uid,
                {"vote": vote.value, "source": source, "reason": reason, "refused": str(error)},
            )
            raise
        decided = self.rt.store.decide(request.uid, Decision(user, vote, now, source, reason))
        self.rt.audit(
            user,
            "respond.approval.decide",
            request.uid,
            {
                "vote": vote.value,
                "reason": reason,
                "source": source,
                "run": request.run_uid,
                "step": request.step_id,
                "action": request.action,
                "status": decided.status.value,
            },
        )
        self.rt.acknowledge(request.incident_uid, user)
        if decided.status is not ApprovalStatus.PENDING:
            self.advance(request.run_uid)
        return self.rt.store.approval(request.uid)

    def tick(self) -> TickReport:
        """Escalate requests unanswered past `escalate_after`; expire (fail closed) those past expiry."""
        now = self.rt.clock()
        escalated, expired, runs = [], [], []
        for request in self.rt.store.approvals(statuses=[ApprovalStatus.PENDING]):
            if now >= request.expires_at:
                if self._expire(request):
                    expired.append(request.uid)
                    runs.append(self.advance(request.run_uid))
                continue
            late = _due(request.escalate_at, now) and request.escalated_at is None
            if late and self._escalate(request):
                escalated.append(request.uid)
        return TickReport(tuple(escalated), tuple(expired), tuple(runs))

    def _escalation_channel(self) -> str | None:
        return self.rt.policy.escalation_channel or self.rt.policy.channel

    def _escalate(self, request: ApprovalRequest) -> bool:
        if not self.rt.store.mark_escalated(request.uid, self.rt.clock()):
            return False
        roles = ", ".join(request.escalation_roles) or "nobody more"
        self.rt.audit(
            SYSTEM, "respond.approval.escalate", request.uid, {"to": list(request.escalation_roles)}
        )
        text = f"Unanswered since {request.requested_at:%F %T %Z}; now also for {roles}.\n{request.impact}"
        self.rt.announce(
            self._escalation_channel(),
            f"{request.uid}/escalate",
            request.incident_uid,
            f"Approval escalated: {request.step_id} on {request.incident_uid}",
            text,
        )
        return True

    def _expire(self, request: ApprovalRequest) -> bool:
        """Close an unanswered request: the step will not run (fail closed); escalation is told."""
        if not self.rt.store.close_approval(request.uid, ApprovalStatus.EXPIRED, self.rt.clock()):
            return False
        self.rt.audit(
            SYSTEM,
            "respond.approval.expire",
            request.uid,
            {
                "run": request.run_uid,
                "step": request.step_id,
                "action": request.action,
                "fail": "closed",
                "escalated_to": list(request.escalation_roles),
            },
        )
        roles = ", ".join(request.escalation_roles) or "the approvers"
        text = (
            f"Nobody approved {request.action} by {request.expires_at:%F %T %Z}; it was NOT run "
            f"(fail closed). For {roles} to follow up.\n{request.impact}"
        )
        self.rt.announce(
            self._escalation_channel(),
            f"{request.uid}/expired",
            request.incident_uid,
            f"Approval expired: {request.step_id} on {request.incident_uid}",
            text,
        )
        return True
