"""The action registry and the one way every action runs.

An action is a class registered by name, with a pydantic parameter model (its
typed signature), a risk level, a blast radius, whether it is safe to repeat,
and how it is undone: an inverse action, a mandatory expiry, or a stated reason
why it cannot be undone (a sent message). Subclasses write only `apply`;
`Action.run` validates the parameters, guards the idempotency key, retries the
adapter call with back-off and returns a typed `ActionResult`:

    action = actions.get("block_ip")()
    result = action.run({"address": "203.0.113.7", "expires_in": 3600}, context)
    if result.rollback is not None:
        rollback(result, context)
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import ValidationError

from vigil.plugins import Registry
from vigil.respond.backends import Backends
from vigil.respond.errors import ParamsError, RecordError, RepeatRefusedError, RollbackError
from vigil.respond.geo import CountryRanges
from vigil.respond.ledger import Ledger, MemoryLedger
from vigil.respond.retry import RetryPolicy, call_with_retry
from vigil.respond.types import (
    ActionParams,
    ActionResult,
    ActionStatus,
    Attempt,
    Change,
    Expiry,
    Failure,
    FailureKind,
    RiskLevel,
    RollbackHandle,
)

logger = logging.getLogger(__name__)

P = TypeVar("P", bound=ActionParams)


class ExpiringParams(ActionParams):
    """Parameters of an action whose change must end by itself."""

    expires_in: Expiry


@dataclass(frozen=True)
class Applied:
    """What `apply` did: words for the incident, the changes, and the inverse's parameters."""

    detail: str
    changes: tuple[Change, ...] = ()
    undo: ActionParams | None = None


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ExecutionContext:
    """Everything one execution needs besides its parameters; `for_step` makes one per step.

    Keep one `ledger` for all the steps of a deployment (the playbook engine stores
    it in the database): the idempotency guard is only as wide as the ledger.
    `dry_run` only marks the results; pair it with `RecordingBackend().backends()`.
    """

    backends: Backends
    key: str
    incident_id: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: Ledger = field(default_factory=MemoryLedger)
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    now: Callable[[], datetime] = _now
    dry_run: bool = False
    countries: CountryRanges | None = None
    """Country ranges for `geo_block`; None: the sample table that ships with Vigil."""

    def for_step(self, key: str) -> ExecutionContext:
        return replace(self, key=key)


class Action(Generic[P]):
    """Base of every action. Subclasses set the class attributes and write `apply`."""

    name: ClassVar[str]
    params_model: type[P]
    risk: ClassVar[RiskLevel]
    blast_radius: ClassVar[str]
    repeatable: ClassVar[bool]
    """Safe to run again with the same parameters (the protocol makes it idempotent)."""
    inverse: ClassVar[str | None] = None
    """Registered name of the action that undoes this one."""
    undoes: ClassVar[str | None] = None
    """Set on inverse actions: the action this one undoes."""
    irreversible: ClassVar[str | None] = None
    """Why neither an inverse nor an expiry exists (a message cannot be unsent)."""

    @classmethod
    def expires(cls) -> bool:
        """True when the parameters carry a mandatory `expires_in`."""
        return issubclass(cls.params_model, ExpiringParams)

    def apply(self, params: P, context: ExecutionContext, limit: float) -> Applied:
        """Make the change through `context.backends`, within `limit` seconds."""
        raise NotImplementedError

    def parse(self, params: P | Mapping[str, object]) -> P:
        if isinstance(params, self.params_model):
            return params
        try:
            return self.params_model.model_validate(params)
        except ValidationError as error:
            raise ParamsError(f"{self.name}: invalid parameters: {error}") from None

    def run(self, params: P | Mapping[str, object], context: ExecutionContext) -> ActionResult:
        """Run once per idempotency key; see the module docstring."""
        typed = self.parse(params)
        replayed = self._guard(typed, context)
        if replayed is not None:
            return replayed
        outcome = call_with_retry(
            lambda limit: self.apply(typed, context, limit),
            context.retry,
            repeatable=self.repeatable,
            sleep=context.sleep,
            rng=context.rng,
        )
        result = self._result(typed, context, outcome.value, outcome.attempts, outcome.failure)
        context.ledger.finish(result)
        if not result.ok:
            logger.warning("%s %s failed: %s", self.name, context.key, result.detail)
        return result

    def _guard(self, params: P, context: ExecutionContext) -> ActionResult | None:
        """Claim the key; the earlier result if it already ran; refuse an unsafe repeat."""
        params_json = params.model_dump_json()
        entry = context.ledger.claim(context.key, self.name, params_json)
        if entry is None:
            return None
        if entry.action != self.name or entry.params_json != params_json:
            raise RepeatRefusedError(
                f"key {context.key!r} already ran {entry.action} with other parameters"
            )
        if entry.result is not None and entry.result.ok:
            return entry.result.model_copy(update={"replayed": True})
        unknown = entry.result is None or (
            entry.result.failure is not None and entry.result.failure.kind is FailureKind.AMBIGUOUS
        )
        if unknown and not self.repeatable:
            raise RepeatRefusedError(
                f"{self.name} {context.key!r} may already have run and must not repeat; "
                "check by hand"
            )
        context.ledger.reclaim(context.key)
        return None

    def _result(
        self,
        params: P,
        context: ExecutionContext,
        applied: Applied | None,
        attempts: tuple[Attempt, ...],
        failure: Failure | None,
    ) -> ActionResult:
        if applied is None or failure is not None:
            message = failure.message if failure is not None else "no outcome"
            return ActionResult(
                action=self.name,
                key=context.key,
                status=ActionStatus.FAILED,
                detail=f"failed after {len(attempts)} attempt(s): {message}",
                params=params,
                attempts=attempts,
                failure=failure,
                dry_run=context.dry_run,
            )
        handle = None
        if applied.undo is not None and self.inverse is not None:
            handle = RollbackHandle(
                action=self.inverse, params=applied.undo, key=f"{context.key}:rollback"
            )
        expires_at = None
        if isinstance(params, ExpiringParams) and applied.changes:
            expires_at = context.now() + params.expires_in
        return ActionResult(
            action=self.name,
            key=context.key,
            status=ActionStatus.OK,
            detail=applied.detail,
            params=params,
            changes=applied.changes,
            rollback=handle,
            expires_at=expires_at,
            attempts=attempts,
            dry_run=context.dry_run,
        )


actions: Registry[Action[Any]] = Registry("action")
"""Every action, by name; the modules that define them are imported by `vigil.respond`."""


def rollback(result: ActionResult, context: ExecutionContext) -> ActionResult:
    """Run the inverse recorded on `result` (under its own idempotency key)."""
    if result.rollback is None:
        raise RollbackError(f"{result.action} {result.key!r} changed nothing that can be undone")
    return run_rollback(result.rollback, context)


def run_rollback(handle: RollbackHandle, context: ExecutionContext) -> ActionResult:
    inverse = actions.get(handle.action)()
    return inverse.run(handle.params, context.for_step(handle.key))


def load_rollback(text: str | bytes) -> RollbackHandle:
    """A rollback handle stored as JSON, its parameters typed again by the registry."""
    raw = json.loads(text)
    try:
        model = actions.get(raw["action"]).params_model
        return RollbackHandle(
            action=raw["action"], params=model.model_validate(raw["params"]), key=raw["key"]
        )
    except (LookupError, TypeError, ValidationError) as error:
        raise RollbackError(f"not a rollback handle: {error}") from None


def load_result(text: str | bytes) -> ActionResult:
    """An action result stored as JSON (`result.model_dump_json()`), its parameters typed again."""
    raw = json.loads(text)
    try:
        model = actions.get(raw["action"]).params_model
        rollback_raw = raw.get("rollback")
        return ActionResult.model_validate(
            {
                **raw,
                "params": model.model_validate(raw["params"]),
                "rollback": load_rollback(json.dumps(rollback_raw)) if rollback_raw else None,
            }
        )
    except (LookupError, TypeError, ValidationError) as error:
        raise RecordError(f"not an action result: {error}") from None


def seconds(delta: timedelta) -> int:
    """Whole seconds, at least one (nft and brokers count in seconds)."""
    return max(1, int(delta.total_seconds()))
