"""A verdict decision as learning reads it: which incident, its rules and alerts, the label."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class VerdictDecision:
    """One verdict someone set on an incident (a later one for the same incident replaces it).

    `seq` is the audit entry's number: increasing, so a learner that remembers the last
    one it read asks only for newer decisions.
    """

    seq: int
    at: datetime
    by: str
    incident_uid: str
    verdict: str
    previous: str | None
    note: str
    stores: tuple[str, ...]
    rule_uids: tuple[str, ...]
    alert_uids: tuple[str, ...]


@dataclass(frozen=True)
class VerdictPage:
    items: tuple[VerdictDecision, ...]
    next_after: int | None
    """Pass as `after` for the next page; None when this page reached the newest."""
