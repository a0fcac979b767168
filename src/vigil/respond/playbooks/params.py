"""Load-time checks of an action step: the action exists, its parameters fit, placeholders resolve.

Parameters with placeholders are checked by name only (their values exist only
when the step runs); literal ones are validated against the action's model now,
so a typo in `expires_in: 4 hours` fails at lint, not at 3 a.m.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from vigil.plugins import PluginNotFoundError
from vigil.respond.actions import actions
from vigil.respond.playbooks.templates import FILTERS, LISTS, PLACEHOLDER, Expression, problems
from vigil.respond.playbooks.types import ActionStep
from vigil.respond.playbooks.vocab import durations_of

Problem = tuple[tuple[str | int, ...], str]


def _literal_problems(model: type[BaseModel], given: dict[str, Any]) -> list[Problem]:
    params = {key: value for key, value in given.items() if key in model.model_fields}
    literal = {key: value for key, value in params.items() if not _templated(value)}
    complete = len(literal) == len(params)
    try:
        model.model_validate(durations_of(model, params if complete else literal))
    except ValidationError as error:
        found = []
        for item in error.errors():
            loc = tuple(part for part in item["loc"] if isinstance(part, str | int))
            if item["type"] == "missing" or (loc[0] not in literal if loc else not complete):
                continue
            where = ".".join(str(part) for part in loc)
            found.append((("params", *loc[:1]), f"params.{where}: {item['msg']}"))
        return found
    return []


def _templated(value: Any) -> bool:
    if isinstance(value, str):
        return PLACEHOLDER.search(value) is not None
    if isinstance(value, list):
        return any(_templated(part) for part in value)
    if isinstance(value, dict):
        return any(_templated(part) for part in value.values())
    return False


def _for_each_problems(step: ActionStep) -> list[Problem]:
    if step.for_each is None:
        return []
    expression = Expression.parse(step.for_each.strip().removeprefix("{{").removesuffix("}}"))
    found: list[Problem] = []
    if expression.variable not in LISTS:
        lists = ", ".join(sorted(LISTS))
        found.append((("for_each",), f"for_each needs a list variable ({lists})"))
    found.extend(
        (("for_each",), f"unknown filter {name!r}")
        for name in expression.filters
        if name not in FILTERS or name == "join"
    )
    return found


def step_problems(step: ActionStep) -> list[Problem]:
    """Problems of one action step, with their path under the step."""
    try:
        action = actions.get(step.action)
    except PluginNotFoundError as error:
        return [(("action",), str(error))]
    model = action.params_model
    fields = model.model_fields
    found: list[Problem] = [
        (("params", key), f"{step.action} has no parameter {key!r}; it takes {', '.join(fields)}")
        for key in step.params
        if key not in fields
    ]
    found.extend(
        (("params",), f"{step.action} needs parameter {name!r}")
        for name, info in fields.items()
        if info.is_required() and name not in step.params
    )
    for key, value in step.params.items():
        found.extend((("params", key), text) for text in problems(value, step.for_each is not None))
    found.extend(_literal_problems(model, dict(step.params)))
    found.extend(_for_each_problems(step))
    approval = step.approval
    if (
        approval is not None
        and approval.escalate_after is not None
        and approval.expires_in is not None
        and approval.escalate_after >= approval.expires_in
    ):
        found.append((("approval", "escalate_after"), "escalate_after must come before expires_in"))
    return found
