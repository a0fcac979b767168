"""What the engine and the dry run both do to a step before it acts: its parameters and terms."""

from __future__ import annotations

from typing import Any

from vigil.respond.actions import Action
from vigil.respond.playbooks.errors import TemplateError
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.templates import items, render_params
from vigil.respond.playbooks.types import ActionStep
from vigil.respond.playbooks.vocab import durations_of
from vigil.respond.retry import RetryPolicy
from vigil.respond.types import ActionParams

MAX_ITEMS = 50
"""Most executions of one `for_each` step: more is a sign the list is not what was meant."""


def build_params(
    step: ActionStep, action: Action[Any], situation: Situation
) -> tuple[ActionParams, ...]:
    """The step's typed parameters, once per `for_each` item; Template or Params errors if not."""
    values: list[str | None] = [None]
    if step.for_each is not None:
        values = list(items(step.for_each, situation))
        if not values:
            raise TemplateError(f"for_each {step.for_each!r} found nothing to act on")
        if len(values) > MAX_ITEMS:
            raise TemplateError(
                f"for_each {step.for_each!r} found {len(values)} values; at most {MAX_ITEMS}"
            )
    model = action.params_model
    return tuple(
        action.parse(durations_of(model, render_params(step.params, situation, value)))
        for value in values
    )


def step_retry(base: RetryPolicy, step: ActionStep) -> RetryPolicy:
    """The retry policy with the step's own timeout and retries."""
    update: dict[str, object] = {}
    if step.retries is not None:
        update["max_attempts"] = step.retries + 1
    if step.timeout is not None:
        update["attempt_timeout_seconds"] = step.timeout.total_seconds()
    return base.model_copy(update=update) if update else base


def contains(step: ActionStep, action: type[Action[Any]]) -> bool:
    """Whether the step's success contains the incident: its say, else whether it can be undone."""
    if step.contains is not None:
        return step.contains
    return action.inverse is not None and action.undoes is None


def summary(params: ActionParams) -> str:
    """`address=203.0.113.7, expires_in=4 h`: parameters in one line for people."""
    parts = []
    for name, value in params.model_dump(mode="json").items():
        if value in (None, "", [], {}):
            continue
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{name}={text}")
    return ", ".join(parts)
