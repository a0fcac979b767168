"""Incidents as the console lists them: summaries with who owns them, filters, pages, comments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from vigil.correlate.types import IncidentStatus

LIST_STATUSES = tuple(status for status in IncidentStatus if status is not IncidentStatus.MERGED)
"""What the queue shows unless asked: everything but incidents folded into others."""


class Verdict(StrEnum):
    """What an analyst concluded; it feeds learning (tuning thresholds, suppressing noise)."""

    TRUE_POSITIVE = "true_positive"
    FALSE_POSITIVE = "false_positive"
    BENIGN = "benign"


class BulkAction(StrEnum):
    ASSIGN = "assign"
    STATUS = "status"
    VERDICT = "verdict"


@dataclass(frozen=True)
class IncidentSummary:
    """One line of the queue."""

    uid: str
    title: str
    status: IncidentStatus
    risk: float
    risk_level: str
    use_case: str
    stores: tuple[str, ...]
    alerts: int
    opened_at: datetime
    updated_at: datetime
    assignee: str | None
    verdict: str | None


@dataclass(frozen=True)
class IncidentFilter:
    """What the queue asks for; `cursor` continues a previous page."""

    statuses: tuple[IncidentStatus, ...] = LIST_STATUSES
    store: str | None = None
    min_risk: float | None = None
    text: str | None = None
    limit: int = 50
    cursor: str | None = None


@dataclass(frozen=True)
class IncidentPage:
    items: tuple[IncidentSummary, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class Comment:
    author: str
    at: datetime
    text: str
