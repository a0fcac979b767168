"""The streaming engine: batches in, alerts out, in event time with bounded lateness.

Each batch is one event class as a polars frame. The engine

1. sets aside rows that are later than the watermark allows (the newest event
   time seen, less `lateness`): they go back to the caller as dead letters with
   the reason, never silently dropped; rows inside the lateness still count;
2. adds the context columns (`ctx.open`, `ctx.local_hour`, `ctx.peak`) from the estate;
3. hands the frame to every enabled rule that reads the class, each with its
   own keyed state; a rule that fails is logged and counted, the others go on.

The watermark is one for the whole stream: a store that sends its events much
later than the others (a WAN outage) sees them go to dead letters once they are
older than `lateness`; set it to the longest outage the edge buffers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from vigil.detect.context import Context
from vigil.detect.rules.base import Rule
from vigil.detect.types import TIME, Alert
from vigil.estate import Estate
from vigil.events.batch import EventBatch
from vigil.events.registry import short_name

logger = logging.getLogger(__name__)

EVENT_TIME = pl.Datetime("ms", "UTC")


@dataclass
class EngineResult:
    """Alerts of a batch, and the rows refused as too late (with `_reason`)."""

    alerts: list[Alert] = field(default_factory=list)
    late: pl.DataFrame = field(default_factory=pl.DataFrame)

    def extend(self, other: EngineResult) -> None:
        self.alerts.extend(other.alerts)
        if len(other.late):
            self.late = pl.concat([self.late, other.late], how="diagonal_relaxed")


@dataclass
class RuleHealth:
    """Per-rule counters for the health screen."""

    events: int = 0
    alerts: int = 0
    errors: int = 0
    last_error: str | None = None


class Engine:
    """Runs a set of rules over a stream of batches."""

    def __init__(
        self,
        rules: Sequence[Rule],
        estate: Estate | None = None,
        lateness: timedelta = timedelta(minutes=10),
    ) -> None:
        self.rules = list(rules)
        self.lateness = lateness
        self.context = Context(estate)
        self.health = {rule.meta.uid: RuleHealth() for rule in self.rules}
        self._by_class: dict[str, list[Rule]] = {}
        for rule in self.rules:
            if rule.meta.enabled:
                for name in rule.classes:
                    self._by_class.setdefault(name, []).append(rule)
        self.newest: datetime | None = None

    @property
    def classes(self) -> list[str]:
        """Event classes some enabled rule reads."""
        return sorted(self._by_class)

    @property
    def watermark(self) -> datetime | None:
        return None if self.newest is None else self.newest - self.lateness

    def process_batch(self, batch: EventBatch) -> EngineResult:
        frame = pl.from_arrow(batch.table)
        if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table gives a frame
            raise TypeError("expected a table")
        return self.process(short_name(batch.event_class), frame)

    def process(self, event_class: str, frame: pl.DataFrame) -> EngineResult:
        """Run the rules that read `event_class` over new rows of it."""
        result = EngineResult()
        if frame.is_empty():
            return result
        frame = frame.filter(pl.col(TIME).is_not_null())
        if frame.schema[TIME] != EVENT_TIME:  # e.g. DuckDB's microseconds, another zone
            frame = frame.with_columns(
                pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
            )
        watermark = self.watermark
        if watermark is not None:
            late = pl.col(TIME) < watermark
            result.late = frame.filter(late).with_columns(
                pl.lit(event_class).alias("_class"),
                (
                    pl.lit("arrived ")
                    + ((pl.lit(watermark) - pl.col(TIME)).dt.total_seconds()).cast(pl.String)
                    + pl.lit(
                        f" s after the watermark (lateness {self.lateness.total_seconds():.0f} s)"
                    )
                ).alias("_reason"),
            )
            frame = frame.filter(~late)
        newest = frame.get_column(TIME).max()
        if isinstance(newest, datetime) and (self.newest is None or newest > self.newest):
            self.newest = newest
        rules = self._by_class.get(event_class, [])
        if frame.is_empty() or not rules:
            return result
        frame = self.context.add(frame)
        current = self.watermark or frame.get_column(TIME).min()
        for rule in rules:
            health = self.health[rule.meta.uid]
            health.events += len(frame)
            try:
                alerts = rule.run(event_class, frame, current)  # type: ignore[arg-type]
            except Exception as error:  # one broken rule never stops the others
                health.errors += 1
                health.last_error = f"{type(error).__name__}: {error}"
                logger.exception("rule %s failed on %s", rule.meta.uid, event_class)
                continue
            health.alerts += len(alerts)
            result.alerts.extend(alerts)
        return result

    def process_all(self, frames: Iterable[tuple[str, pl.DataFrame]]) -> EngineResult:
        total = EngineResult()
        for name, frame in frames:
            total.extend(self.process(name, frame))
        return total
