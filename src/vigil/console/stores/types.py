"""Stores as the console shows them: health of their telemetry, open incidents, their day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class HealthStatus(StrEnum):
    """Whether a store's telemetry flows: ok, late (degraded), stopped (silent), never seen."""

    OK = "ok"
    SILENT = "silent"
    DEGRADED = "degraded"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Activity:
    """A store's newest event and how many arrived in the last hour (event time)."""

    last_event_at: datetime | None
    events_last_hour: int


@dataclass(frozen=True)
class StoreSummary:
    uid: str
    name: str
    region: str
    open: bool
    status: HealthStatus
    activity: Activity
    incidents_open: int
    risk_max: float


@dataclass(frozen=True)
class Footfall:
    t: datetime
    entered: int
    left: int


@dataclass(frozen=True)
class Queue:
    t: datetime
    camera: str
    length: int
    wait_s: float | None


@dataclass(frozen=True)
class HeatMap:
    camera: str
    width: int
    height: int
    grid: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class PhysicalEvent:
    time: datetime
    kind: str
    summary: str


@dataclass(frozen=True)
class CashierExceptions:
    cashier: str
    voids: int
    refunds: int
    no_sales: int
    discounts: int


@dataclass(frozen=True)
class StoreView:
    """One store's day: footfall, queues, a heat map, after-hours events, POS exceptions."""

    uid: str
    since: datetime
    until: datetime
    footfall: tuple[Footfall, ...]
    queues: tuple[Queue, ...]
    heatmap: HeatMap | None
    after_hours: tuple[PhysicalEvent, ...]
    pos_exceptions: tuple[CashierExceptions, ...]
