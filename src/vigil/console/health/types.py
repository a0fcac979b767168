"""What the health screen shows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class SourceHealth:
    source: str
    format: str
    records: int
    events: int
    rejected: int
    skipped: int
    recoded: int
    pans_masked: int
    dropped: int
    last_at: datetime
    lag_s: float
    """Seconds since the source last delivered (by the console's clock)."""


@dataclass(frozen=True)
class WorkerHealth:
    name: str
    status: str
    """ok, degraded or down."""
    detail: str


@dataclass(frozen=True)
class Health:
    sources: tuple[SourceHealth, ...]
    dead_letters_total: int
    dead_letters_by_source: dict[str, int]
    workers: tuple[WorkerHealth, ...]


@dataclass(frozen=True)
class DeadLetterEntry:
    """A record ingest could not parse (or a row detection refused as late), as kept."""

    id: int
    """Increasing: newer letters have higher ids; the page cursor."""
    at: datetime
    source: str
    position: str | None
    reason: str
    raw: str
    """The record as received, card numbers already masked (ingest masks before storing)."""


@dataclass(frozen=True)
class DeadLetterPage:
    items: tuple[DeadLetterEntry, ...]
    next_before: int | None
    """Pass as `before` for the next (older) page; None when this page reached the oldest."""
