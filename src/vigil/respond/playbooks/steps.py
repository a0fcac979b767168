"""One step of a run: prepare it, ask for approval, act, and say where the run goes next.

An action step moves through its states, each written before the next begins:

    (new) -> skipped | held | failed | pending | waiting
    waiting -> pending (approved) | rejected | expired
    pending -> running -> done | failed | unknown

Parameters are rendered once, before approval, and stored: the approver sees
what will run and a resumed step runs exactly that. A step found `running` after
a restart is run again through the ledger: a finished action is replayed from
its record, an unfinished one that is safe to repeat runs again, and one that is
not (a notification) is marked `unknown` and the run `interrupted`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from vigil.respond.actions import Action, actions
from vigil.respond.approvals import ApprovalRequest, ApprovalStatus, Requirement, requirement
from vigil.respond.errors import ParamsError, RepeatRefusedError
from vigil.respond.ledger import execution_key
from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks.conditions import check
from vigil.respond.playbooks.errors import TemplateError
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.graph import failure_target, success_target
from vigil.respond.playbooks.prepare import build_params, contains, step_retry, summary
from vigil.respond.playbooks.runs import RunRecord, RunStatus, StepRecord, StepStatus
from vigil.respond.playbooks.runtime import SYSTEM, Runtime
from vigil.respond.playbooks.types import ActionStep, BranchStep
from vigil.respond.playbooks.vocab import describe
from vigil.respond.types import ActionResult


@dataclass(frozen=True)
class Outcome:
    """Where the run goes after a step: on to `next_step`, wait, or stop with `status`."""

    next_step: str | None = None
    wait: bool = False
    status: RunStatus | None = None
    detail: str = ""


def approval_uid(run_uid: str, step_id: str) -> str:
    """Short, stable id of a step's approval request (what approvers type)."""
    return hashlib.sha256(f"{run_uid}\x1f{step_id}".encode()).hexdigest()[:12]


def run_branch(rt: Runtime, run: RunRecord, step: BranchStep, situation: Situation) -> Outcome:
    target, because = run.playbook.following(step.id), "no case holds"
    for case in step.branch:
        verdict = check(case.when, situation)
        if verdict.holds:
            target, because = case.goto, verdict.because()
            break
    now = rt.clock()
    detail = f"went to {target}: {because}"
    rt.store.put_step(
        StepRecord(
            run.uid,
            step.id,
            StepStatus.BRANCHED,
            None,
            detail=detail,
            started_at=now,
            finished_at=now,
        )
    )
    return Outcome(next_step=target, detail=detail)


def run_action(rt: Runtime, run: RunRecord, step: ActionStep, situation: Situation) -> Outcome:
    action_type = actions.get(step.action)
    state = rt.store.step(run.uid, step.id)
    if state is None:
        state = _prepare(rt, run, step, action_type, situation)
    if state.status is StepStatus.WAITING:
        state = _after_approval(rt, run, state)
    if state.status in {StepStatus.PENDING, StepStatus.RUNNING}:
        state = _execute(rt, run, step, action_type, state)
    return _outcome(run, step, state)


def _outcome(run: RunRecord, step: ActionStep, state: StepRecord) -> Outcome:
    status = state.status
    if status in {StepStatus.DONE, StepStatus.SKIPPED, StepStatus.HELD}:
        return Outcome(next_step=success_target(run.playbook, step), detail=state.detail)
    if status is StepStatus.WAITING:
        return Outcome(wait=True, detail=state.detail)
    if status is StepStatus.UNKNOWN:
        return Outcome(status=RunStatus.INTERRUPTED, detail=f"{step.id}: {state.detail}")
    target = failure_target(run.playbook, step)
    if target is not None:
        return Outcome(next_step=target, detail=state.detail)
    denied = status in {StepStatus.REJECTED, StepStatus.EXPIRED}
    return Outcome(
        status=RunStatus.DENIED if denied else RunStatus.FAILED, detail=f"{step.id}: {state.detail}"
    )


def _record(rt: Runtime, run: RunRecord, state: StepRecord, event: str) -> StepRecord:
    rt.store.put_step(state)
    rt.audit(
        SYSTEM,
        event,
        run.uid,
        {"step": state.step_id, "status": state.status.value, "detail": state.detail},
    )
    return state


def _prepare(
    rt: Runtime,
    run: RunRecord,
    step: ActionStep,
    action_type: type[Action[Any]],
    situation: Situation,
) -> StepRecord:
    now = rt.clock()
    base = StepRecord(run.uid, step.id, StepStatus.PENDING, step.action, started_at=now)
    verdict = check(step.when, situation)
    if not verdict.holds:
        skipped = replace(
            base, status=StepStatus.SKIPPED, detail=f"skipped: {verdict.because()}", finished_at=now
        )
        return _record(rt, run, skipped, "respond.step.skip")
    try:
        params = build_params(step, action_type(), situation)
    except (TemplateError, ParamsError) as error:
        failed = replace(
            base,
            status=StepStatus.FAILED,
            detail=f"cannot build parameters: {error}",
            finished_at=now,
        )
        return _record(rt, run, failed, "respond.step.fail")
    stored = tuple(p.model_dump(mode="json") for p in params)
    words = "; ".join(summary(p) for p in params)
    if run.mode is ResponseMode.DETECT_ONLY:
        detail = f"detect-only mode: would run {step.action} {words}"
        held = replace(base, status=StepStatus.HELD, params=stored, detail=detail, finished_at=now)
        return _record(rt, run, held, "respond.step.hold")
    need = requirement(rt.policy, run.playbook.id, step, action_type.risk, situation, run.mode)
    if not need.needed:
        return _record(
            rt, run, replace(base, params=stored, detail=need.why), "respond.step.automatic"
        )
    request = _request(rt, run, step, action_type, situation, need, words)
    waiting = replace(
        base,
        status=StepStatus.WAITING,
        params=stored,
        approval_uid=request.uid,
        detail=f"waiting for approval {request.uid}: {need.why}",
    )
    return rt.store.put_step(waiting)


def _request(
    rt: Runtime,
    run: RunRecord,
    step: ActionStep,
    action_type: type[Action[Any]],
    situation: Situation,
    need: Requirement,
    words: str,
) -> ApprovalRequest:
    now = rt.clock()
    facts = situation.facts
    regions = dict(zip(facts.stores, _regions(situation), strict=True))
    impact = (
        f"{action_type.name} ({action_type.risk} risk): {action_type.blast_radius}\n"
        f"Will run: {words}\nIncident {facts.uid}: {facts.title}\nMode: {run.mode_why}"
    )
    request = ApprovalRequest(
        uid=approval_uid(run.uid, step.id),
        run_uid=run.uid,
        step_id=step.id,
        incident_uid=facts.uid,
        playbook_id=run.playbook.id,
        action=action_type.name,
        risk=action_type.risk,
        impact=impact,
        why=need.why,
        requested_by=run.requested_by,
        requested_at=now,
        expires_at=now + need.expires_in,
        escalate_at=now + need.escalate_after if need.escalate_after is not None else None,
        escalated_at=None,
        status=ApprovalStatus.PENDING,
        roles=need.roles,
        escalation_roles=need.escalate_to,
        quorum=need.quorum,
        stores=regions,
    )
    stored, created = rt.store.add_approval(request)
    if created:
        rt.audit(
            SYSTEM,
            "respond.approval.request",
            stored.uid,
            {
                "run": run.uid,
                "step": step.id,
                "action": stored.action,
                "risk": stored.risk.value,
                "why": stored.why,
                "roles": list(stored.roles),
                "quorum": stored.quorum,
                "expires_at": stored.expires_at.isoformat(),
                "requested_by": stored.requested_by,
            },
        )
        text = (
            f"{stored.impact}\nWhy: {stored.why}\nWho: {', '.join(stored.roles)} "
            f"(quorum {stored.quorum}); expires in {describe(need.expires_in)}.\n"
            f"vigil respond approve {stored.uid} --reason ..."
        )
        rt.announce(
            rt.policy.channel,
            stored.uid,
            facts.uid,
            f"Approval needed: {step.id} on {facts.uid}",
            text,
        )
    return stored


def _regions(situation: Situation) -> list[str | None]:
    estate = situation.estate
    found: list[str | None] = []
    for uid in situation.facts.stores:
        region = None
        if estate is not None:
            region = next(
                (r.uid for r in estate.regions if any(s.uid == uid for s in r.stores)), None
            )
        found.append(region)
    return found


def _after_approval(rt: Runtime, run: RunRecord, state: StepRecord) -> StepRecord:
    if state.approval_uid is None:
        return state
    request = rt.store.approval(state.approval_uid)
    if request.status is ApprovalStatus.PENDING:
        return state
    now = rt.clock()
    if request.status is ApprovalStatus.APPROVED:
        who = ", ".join(d.approver for d in request.decisions)
        return rt.store.put_step(
            replace(state, status=StepStatus.PENDING, detail=f"approved by {who}")
        )
    if request.status is ApprovalStatus.REJECTED:
        rejecter = next(d for d in request.decisions if d.vote.value == "reject")
        detail = f"rejected by {rejecter.approver}: {rejecter.reason}"
        return rt.store.put_step(
            replace(state, status=StepStatus.REJECTED, detail=detail, finished_at=now)
        )
    detail = f"nobody approved by {request.expires_at:%F %T %Z}: not run (fail closed)"
    return rt.store.put_step(
        replace(state, status=StepStatus.EXPIRED, detail=detail, finished_at=now)
    )


def _execute(
    rt: Runtime, run: RunRecord, step: ActionStep, action_type: type[Action[Any]], state: StepRecord
) -> StepRecord:
    action = action_type()
    running = rt.store.put_step(replace(state, status=StepStatus.RUNNING))
    retry = step_retry(rt.retry, step)
    results: list[ActionResult] = []
    for index, params in enumerate(state.params):
        key = execution_key(run.uid, step.id, str(index))
        try:
            result = action.run(params, rt.context(key, run.incident_uid, retry))
        except RepeatRefusedError as error:
            detail = f"interrupted while acting and not safe to repeat: {error}"
            unknown = replace(
                running,
                status=StepStatus.UNKNOWN,
                results=tuple(results),
                detail=detail,
                finished_at=rt.clock(),
            )
            return _record(rt, run, unknown, "respond.step.unknown")
        except ParamsError as error:
            failed = replace(
                running,
                status=StepStatus.FAILED,
                results=tuple(results),
                detail=str(error),
                finished_at=rt.clock(),
            )
            return _record(rt, run, failed, "respond.step.fail")
        results.append(result)
        rt.audit(
            SYSTEM,
            "respond.action",
            result.key,
            {
                "run": run.uid,
                "step": step.id,
                "action": result.action,
                "status": result.status.value,
                "detail": result.detail,
                "changes": [f"{c.target}: {c.effect}" for c in result.changes],
                "attempts": len(result.attempts),
                "replayed": result.replayed,
                "approval": state.approval_uid,
            },
        )
    ok = all(result.ok for result in results)
    detail = "; ".join(result.detail for result in results)
    final = replace(
        running,
        status=StepStatus.DONE if ok else StepStatus.FAILED,
        results=tuple(results),
        detail=detail,
        finished_at=rt.clock(),
    )
    rt.store.put_step(final)
    if ok and contains(step, action_type):
        rt.contain(run.incident_uid, SYSTEM)
    return final
