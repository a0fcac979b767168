"""Playbook runs and their steps, as the engine keeps them in the database.

A run is one playbook on one incident; its uid is derived from both, so starting
it twice finds the same run. Every step's state is written before and after it
acts: after a crash the engine knows which step was running and asks the
ledger whether its action finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks.types import Playbook
from vigil.respond.types import ActionResult


class RunStatus(StrEnum):
    RUNNING = "running"
    WAITING = "waiting"
    """A step waits for approval."""
    COMPLETED = "completed"
    FAILED = "failed"
    """A step failed and the playbook said stop."""
    DENIED = "denied"
    """An approval was rejected or expired (fail closed) and the playbook said stop."""
    INTERRUPTED = "interrupted"
    """A step may have acted before a crash and must not repeat: check by hand."""

    @property
    def finished(self) -> bool:
        return self not in {RunStatus.RUNNING, RunStatus.WAITING}


class StepStatus(StrEnum):
    PENDING = "pending"
    """Parameters fixed, not acted yet."""
    WAITING = "waiting"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"
    """Its `when` did not hold."""
    HELD = "held"
    """Detect-only mode: recorded what it would do, did nothing."""
    REJECTED = "rejected"
    EXPIRED = "expired"
    """Nobody approved in time: not run (fail closed)."""
    UNKNOWN = "unknown"
    """Interrupted while acting, not safe to repeat: may or may not have happened."""
    BRANCHED = "branched"


@dataclass(frozen=True)
class RunRecord:
    uid: str
    incident_uid: str
    playbook: Playbook
    """The playbook as it was when the run started (a later edit does not change a run)."""
    status: RunStatus
    mode: ResponseMode
    mode_why: str
    requested_by: str
    current_step: str | None
    started_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class StepRecord:
    run_uid: str
    step_id: str
    status: StepStatus
    action: str | None = None
    params: tuple[Mapping[str, object], ...] = ()
    """The rendered parameters, once per item: fixed before approval, so approvers see
    exactly what will run, and a resumed step runs the same."""
    results: tuple[ActionResult, ...] = ()
    approval_uid: str | None = None
    detail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
