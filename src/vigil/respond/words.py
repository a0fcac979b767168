"""Runs and dry-run plans in plain lines, for the CLI and for messages to people."""

from __future__ import annotations

from collections.abc import Sequence

from vigil.respond.playbooks.plan import Plan
from vigil.respond.playbooks.runs import RunRecord, StepRecord


def plan_lines(plan: Plan) -> list[str]:
    """What a playbook would do, step by step, and why."""
    applies = "applies" if plan.applies.holds else "does not apply"
    lines = [
        f"{plan.playbook_id}: {plan.title}",
        f"  {applies}: {plan.applies.because()}",
        f"  mode: {plan.mode.mode} ({plan.mode.why})",
    ]
    for step in plan.steps:
        what = f"{step.action} ({step.risk} risk)" if step.action else "branch"
        lines += [f"  - {step.step_id}: {step.outcome}: {what}", f"      {step.detail}"]
        if step.approval is not None and step.approval.needed:
            terms = f"{', '.join(step.approval.roles)}, quorum {step.approval.quorum}"
            lines.append(f"      approval: {step.approval.why} ({terms})")
    return lines


def run_lines(run: RunRecord, steps: Sequence[StepRecord]) -> list[str]:
    """A run and the state of each step it reached, in the playbook's order."""
    lines = [f"run {run.uid}: {run.status} ({run.playbook.id}, {run.mode})"]
    states = {state.step_id: state for state in steps}
    for step in run.playbook.steps:
        state = states.get(step.id)
        if state is not None:
            lines.append(f"  - {step.id}: {state.status}: {state.detail}")
    return lines
