"""Dry run: what a playbook would do to an incident now, without doing any of it.

The plan walks the steps as the engine would, evaluates every condition and
branch in the present situation, renders the parameters, and runs each action
against an in-memory recording backend (`dry_run=True`), so it shows the words
the real run would record ("blocked 203.0.113.7/32"). Steps that would wait for
approval are shown with the reason and then assumed approved. Nothing is stored
and nothing leaves the process.
"""

from __future__ import annotations

from dataclasses import dataclass

from vigil.respond.actions import ExecutionContext, actions
from vigil.respond.approvals import ApprovalPolicy, Requirement, requirement
from vigil.respond.backends import DirectoryUser, UserRef
from vigil.respond.errors import ParamsError, RespondError
from vigil.respond.ledger import MemoryLedger, execution_key
from vigil.respond.modes import ModeDecision, ResponseMode
from vigil.respond.playbooks.conditions import Verdict, check
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.graph import failure_target, success_target
from vigil.respond.playbooks.matching import applies
from vigil.respond.playbooks.prepare import build_params, summary
from vigil.respond.playbooks.types import END, ActionStep, BranchStep, Playbook
from vigil.respond.recording import FakeSleep, RecordingBackend
from vigil.respond.types import ActionParams, ActionResult


class _DryRunBackend(RecordingBackend):
    """A recording backend whose directory knows every user, as active."""

    def find(self, user: UserRef, limit: float) -> DirectoryUser:
        self.record("find", user)
        name = user.user_name or user.user_id or "?"
        return DirectoryUser(user.user_id or f"dry-run:{name}", name, True)


@dataclass(frozen=True)
class PlannedStep:
    step_id: str
    title: str
    outcome: str
    """`would run`, `would wait for approval`, `skipped`, `held`, `would fail`, `branch`."""
    detail: str
    action: str | None = None
    risk: str | None = None
    approval: Requirement | None = None
    results: tuple[ActionResult, ...] = ()


@dataclass(frozen=True)
class Plan:
    incident_uid: str
    playbook_id: str
    title: str
    applies: Verdict
    mode: ModeDecision
    steps: tuple[PlannedStep, ...]


def plan(
    playbook: Playbook, situation: Situation, mode: ModeDecision, policy: ApprovalPolicy
) -> Plan:
    """The steps a run would take now, what each would do, and why."""
    planned: list[PlannedStep] = []
    current = playbook.steps[0].id
    seen: set[str] = set()
    while current != END and current not in seen:
        seen.add(current)
        step = playbook.step(current)
        if isinstance(step, BranchStep):
            target, reasons = _branch(playbook, step, situation)
            planned.append(PlannedStep(step.id, step.title, "branch", f"go to {target}: {reasons}"))
            current = target
            continue
        entry, ok = _action(playbook, step, situation, mode.mode, policy)
        planned.append(entry)
        failure = failure_target(playbook, step)
        if ok:
            current = success_target(playbook, step)
        elif failure is None:
            break
        else:
            current = failure
    return Plan(
        situation.facts.uid,
        playbook.id,
        playbook.title,
        applies(playbook, situation),
        mode,
        tuple(planned),
    )


def _branch(playbook: Playbook, step: BranchStep, situation: Situation) -> tuple[str, str]:
    for case in step.branch:
        verdict = check(case.when, situation)
        if verdict.holds:
            return case.goto, verdict.because()
    return playbook.following(step.id), "no case holds"


def _action(
    playbook: Playbook,
    step: ActionStep,
    situation: Situation,
    mode: ResponseMode,
    policy: ApprovalPolicy,
) -> tuple[PlannedStep, bool]:
    action_type = actions.get(step.action)
    risk = action_type.risk.value
    verdict = check(step.when, situation)
    if not verdict.holds:
        return PlannedStep(
            step.id, step.title, "skipped", verdict.because(), step.action, risk
        ), True
    action = action_type()
    try:
        params = build_params(step, action, situation)
    except (RespondError, ParamsError) as error:
        detail = f"cannot build parameters: {error}"
        return PlannedStep(step.id, step.title, "would fail", detail, step.action, risk), False
    words = "; ".join(summary(p) for p in params)
    if mode is ResponseMode.DETECT_ONLY:
        detail = f"detect-only mode: would run {step.action} {words}"
        return PlannedStep(step.id, step.title, "held", detail, step.action, risk), True
    needed = requirement(policy, playbook.id, step, action_type.risk, situation, mode)
    results = tuple(_dry(action_type.name, p, index, situation) for index, p in enumerate(params))
    ok = all(result.ok for result in results)
    outcome = "would wait for approval" if needed.needed else "would run"
    if not ok:
        outcome = "would fail"
    detail = "; ".join(result.detail for result in results)
    return (
        PlannedStep(step.id, step.title, outcome, detail, step.action, risk, needed, results),
        ok,
    )


def _dry(name: str, params: ActionParams, index: int, situation: Situation) -> ActionResult:
    backend = _DryRunBackend()
    gateways = sorted({*situation.gateways, "default", *situation.facts.stores})
    context = ExecutionContext(
        backends=backend.backends(gateways=gateways, channels=_channels(params)),
        key=execution_key(situation.facts.uid, "dry-run", name, str(index)),
        incident_id=situation.facts.uid,
        ledger=MemoryLedger(),
        sleep=FakeSleep(),
        now=lambda: situation.now,
        dry_run=True,
    )
    action = actions.get(name)()
    return action.run(params, context)


def _channels(params: ActionParams) -> list[str]:
    channel = getattr(params, "channel", None)
    return [channel] if isinstance(channel, str) else ["ops"]
