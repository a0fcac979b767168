"""The typed objects of `vigil.respond`: parameters, risk, attempts, results, rollback handles.

They are pydantic models so that the playbook engine can store a result on the
incident as JSON (`result.model_dump_json()`) and read a rollback handle back
(`vigil.respond.actions.load_rollback`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny

MAX_EXPIRY = timedelta(days=30)


class RiskLevel(StrEnum):
    """How much harm a wrong execution does; playbooks ask an approver from `high` up."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ActionStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"


class FailureKind(StrEnum):
    """Why an attempt failed, which decides whether it is tried again."""

    TRANSIENT = "transient"
    AMBIGUOUS = "ambiguous"
    PERMANENT = "permanent"
    CONFIG = "config"


class ActionParams(BaseModel):
    """Base of every action's parameter model: immutable, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Expiry = Annotated[
    timedelta,
    Field(
        gt=timedelta(0),
        le=MAX_EXPIRY,
        description="How long the change lasts before it undoes itself "
        "(seconds or ISO 8601, e.g. 3600 or PT1H; at most 30 days).",
    ),
]


class Change(BaseModel):
    """One thing an action changed, in words an analyst reads on the incident."""

    model_config = ConfigDict(frozen=True)

    target: str = Field(description="What was changed, e.g. `nft inet vigil block4 203.0.113.7`.")
    effect: str = Field(description="What happened to it, e.g. `added, expires in 3600 s`.")


class Failure(BaseModel):
    """Why an attempt (or the whole action) failed."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    message: str


class Attempt(BaseModel):
    """One try of an adapter call, with the back-off waited before it."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    waited_seconds: float = Field(ge=0, description="Back-off slept before this attempt.")
    failure: Failure | None = Field(default=None, description="None when the attempt succeeded.")


class RollbackHandle(BaseModel):
    """The inverse action and its parameters, derived from what the original changed."""

    model_config = ConfigDict(frozen=True)

    action: str = Field(description="Registered name of the inverse action.")
    params: SerializeAsAny[ActionParams]
    key: str = Field(description="Idempotency key for running the rollback.")


class ActionResult(BaseModel):
    """What one execution of an action did; stored on the incident by the playbook engine."""

    model_config = ConfigDict(frozen=True)

    action: str
    key: str = Field(description="Idempotency key of this execution.")
    status: ActionStatus
    detail: str
    params: SerializeAsAny[ActionParams]
    changes: tuple[Change, ...] = ()
    rollback: RollbackHandle | None = None
    expires_at: datetime | None = Field(
        default=None, description="When the change undoes itself (the action's expiry)."
    )
    attempts: tuple[Attempt, ...] = ()
    failure: Failure | None = None
    replayed: bool = Field(
        default=False, description="True when this is the recorded result of an earlier run."
    )
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.status is ActionStatus.OK
