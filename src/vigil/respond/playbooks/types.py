"""Playbooks as typed data: trigger, conditions, steps, branches, approvals, timeouts.

    id: pos-malware
    title: Contain POS malware
    trigger: {use_cases: [pos_malware], min_severity: high}
    steps:
      - id: quarantine
        action: quarantine_device
        params: {device: "{{ asset.ip }}", management: "{{ store.management }}", expires_in: 4h}
        approval: {when: {store_open: true}}   # trading hours: ask; after hours: automatic
        timeout: 20s
        retries: 3
      - id: route
        branch:
          - when: {has_public_ip: true}
            goto: block_c2
          - goto: notify
      ...

A step runs the step after it unless it says `next`; `on_failure` is `stop`
(the default), `continue`, or a step id. `end` ends the run. `Playbook.dump`
and `Playbook.model_validate` are a round trip.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag

from vigil.respond.playbooks.conditions import Condition
from vigil.respond.playbooks.templates import Json
from vigil.respond.playbooks.vocab import Duration, Model, SeverityName

NAME = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
END = "end"
STOP = "stop"
CONTINUE = "continue"


class Trigger(Model):
    """Which incidents the playbook is for: every field given must match."""

    use_cases: list[str] = Field(
        default_factory=list, description="One of the incident's use cases is in the list."
    )
    rules: list[str] = Field(
        default_factory=list,
        description="One of the incident's rule uids matches one of these (shell patterns).",
    )
    min_severity: SeverityName | None = Field(
        default=None, description="The incident is at least this severe."
    )
    tags: list[str] = Field(
        default_factory=list,
        description="The incident has one of these tags (ATT&CK tactic or technique id).",
    )


class ApprovalSpec(Model):
    """When a step waits for people, and which people: overrides of the approval defaults."""

    when: Condition | None = Field(
        default=None,
        description="Approval is needed only when this holds (always when left out); "
        "otherwise the step runs at once, even if its action is high-risk.",
    )
    roles: list[str] | None = Field(
        default=None, min_length=1, description="Roles that may approve."
    )
    quorum: int | None = Field(default=None, ge=1, le=5, description="Distinct approvers needed.")
    expires_in: Duration | None = Field(
        default=None, description="The request fails closed when nobody answers in this time."
    )
    escalate_after: Duration | None = Field(
        default=None, description="Unanswered this long, the request goes to `escalate_to` too."
    )
    escalate_to: list[str] | None = Field(
        default=None, min_length=1, description="Roles added when the request escalates."
    )


class ActionStep(Model):
    """Runs one registered action (once per item with `for_each`)."""

    id: str = Field(pattern=NAME, description="Step id, unique in the playbook.")
    title: str = Field(default="", max_length=200, description="What the step does, in words.")
    action: str = Field(description="Registered action name (`vigil respond actions`).")
    params: dict[str, Json] = Field(
        default_factory=dict, description="The action's parameters; `{{ ... }}` placeholders."
    )
    when: Condition | None = Field(
        default=None, description="Run only when this holds; otherwise the step is skipped."
    )
    for_each: str | None = Field(
        default=None,
        description="Run once per value of this list variable (`public_ips | subnet`); "
        "`{{ item }}` is the value.",
    )
    approval: ApprovalSpec | None = Field(
        default=None, description="When and from whom the step needs approval."
    )
    timeout: Duration | None = Field(default=None, description="Time limit of one attempt.")
    retries: int | None = Field(
        default=None, ge=0, le=10, description="Tries after the first when the adapter fails."
    )
    next: str | None = Field(default=None, description="Step after success (`end` to finish).")
    on_failure: str = Field(
        default=STOP,
        description="After a failure, a rejection or an expired approval: "
        "`stop`, `continue`, or a step id.",
    )
    contains: bool | None = Field(
        default=None,
        description="Success contains the incident (default: the action has an inverse).",
    )


class BranchCase(Model):
    when: Condition | None = Field(
        default=None, description="Taken when this holds; the last case may leave it out."
    )
    goto: str = Field(description="Step id to go to, or `end`.")


class BranchStep(Model):
    """Chooses the next step: the first case whose condition holds."""

    id: str = Field(pattern=NAME, description="Step id, unique in the playbook.")
    title: str = Field(default="", max_length=200, description="What is decided, in words.")
    branch: list[BranchCase] = Field(min_length=1, description="Cases, in order.")


def _step_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "branch-step" if "branch" in value else "action-step"
    return "branch-step" if isinstance(value, BranchStep) else "action-step"


Step = Annotated[
    Annotated[ActionStep, Tag("action-step")] | Annotated[BranchStep, Tag("branch-step")],
    Discriminator(_step_kind),
]
STEP_TAGS = frozenset({"action-step", "branch-step"})


class Playbook(Model):
    """One response procedure for one kind of incident."""

    id: str = Field(pattern=NAME, description="Playbook id, unique across all playbooks.")
    title: str = Field(min_length=1, max_length=200, description="Name, in words.")
    description: str = Field(default="", description="What it is for and why it acts as it does.")
    version: int = Field(default=1, ge=1, description="Bumped when the steps change.")
    trigger: Trigger = Field(description="Which incidents it is for.")
    conditions: Condition | None = Field(
        default=None, description="It runs only when this holds as well."
    )
    steps: list[Step] = Field(min_length=1, description="Steps, run from the first.")
    origin: str = Field(default="", exclude=True, description="file:line it was loaded from.")

    def step(self, step_id: str) -> ActionStep | BranchStep:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    def following(self, step_id: str) -> str:
        """The step after `step_id` in the list, or `end`."""
        ids = [step.id for step in self.steps]
        index = ids.index(step_id)
        return ids[index + 1] if index + 1 < len(ids) else END

    def dump(self) -> dict[str, Any]:
        """JSON-ready and YAML-ready: what `model_validate` reads back to an equal playbook."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
