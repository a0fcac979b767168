"""The streaming engine: batches in, alerts out, in event time with bounded lateness.

Each batch is one event class as a polars frame. The engine

1. sets aside rows that are later than the watermark allows (the newest event
   time seen, less `lateness`): they go back to the caller as dead letters with
   the reason, never silently dropped; rows inside the lateness still count;
2. keeps only the columns some rule of the class reads (`Rule.columns`, plus
   the fixed evidence set) and adds the context columns (`ctx.open`,
   `ctx.local_hour`, `ctx.peak`, `ctx.card`, ...) that some rule reads;
3. hands every enabled rule that reads the class the frame cut to its own
   columns, each with its own keyed state; a rule that fails is logged and
   counted, the others go on.

Cutting frames matters: a class has ~130 columns, mostly null, and a filter or
a concatenation costs per column. A rule that does not declare its columns
(`Rule.columns` is None) gets every column and every context column.

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

from vigil.detect.context import CONTEXT_COLUMNS, Context
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
            rule.bind(self.context)
            if rule.meta.enabled:
                for name in rule.classes:
                    self._by_class.setdefault(name, []).append(rule)
        self._reads: dict[str, list[frozenset[str] | None]] = {
            name: [rule.columns(name) for rule in rules] for name, rules in self._by_class.items()
        }
        self._filters: dict[str, list[pl.Expr | None]] = {
            name: [rule.prefilter(name) for rule in rules] for name, rules in self._by_class.items()
        }
        self._cuts: dict[tuple[str, tuple[str, ...], frozenset[str] | None], list[str] | None] = {}
        self.newest: datetime | None = None

    @property
    def classes(self) -> list[str]:
        """Event classes some enabled rule reads."""
        return sorted(self._by_class)

    def columns(self, event_class: str) -> list[str] | None:
        """Columns of `event_class` the engine's rules read (sorted); None: every column.

        Replay reads only these from the lake. Context columns are left out (the
        engine adds them); an empty list means no rule reads the class.
        """
        reads = self._reads.get(event_class, [])
        if any(columns is None for columns in reads):
            return None
        union: set[str] = set().union(*(columns or () for columns in reads))
        return sorted(union - set(CONTEXT_COLUMNS))

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
        if frame.get_column(TIME).null_count():
            frame = frame.filter(pl.col(TIME).is_not_null())
        if frame.schema[TIME] != EVENT_TIME:  # e.g. DuckDB's microseconds, another zone
            frame = frame.with_columns(
                pl.col(TIME).dt.convert_time_zone("UTC").dt.cast_time_unit("ms")
            )
        watermark = self.watermark
        oldest = frame.get_column(TIME).min()
        if watermark is not None and isinstance(oldest, datetime) and oldest < watermark:
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
        reads = self._reads[event_class]
        union = self._cut(event_class, tuple(frame.columns), None)
        if union is not None:
            frame = frame.select(union)
        frame = self.context.add(frame, self._context_columns(reads))
        columns = tuple(frame.columns)
        first = frame.get_column(TIME).min()
        current = self.watermark or first
        if isinstance(first, datetime):
            for rule in rules:
                rule.begin(first)
        masks = self._masks(event_class, frame)
        for index, (rule, read) in enumerate(zip(rules, reads, strict=True)):
            health = self.health[rule.meta.uid]
            health.events += len(frame)
            cut = self._cut(event_class, columns, read)
            mask = None if masks is None else masks.get(index)
            if mask is not None and not mask.any():
                rule.idle(current)  # type: ignore[arg-type]
                continue
            alerts = self._run(rule, event_class, frame, cut, mask, current)  # type: ignore[arg-type]
            if alerts is None:
                continue
            health.alerts += len(alerts)
            result.alerts.extend(alerts)
        return result

    def _run(
        self,
        rule: Rule,
        event_class: str,
        frame: pl.DataFrame,
        cut: list[str] | None,
        mask: pl.Series | None,
        current: datetime,
    ) -> list[Alert] | None:
        """The rule's alerts over its rows and columns of `frame`; None if it failed."""
        if mask is not None:
            passed = frame.lazy().filter(mask)  # rows and columns cut in one step
            part = (passed if cut is None else passed.select(cut)).collect()
        else:
            part = frame if cut is None else frame.select(cut)
        rule.filtered = mask is not None
        try:
            return rule.run(event_class, part, current)
        except Exception as error:  # one broken rule never stops the others
            health = self.health[rule.meta.uid]
            health.errors += 1
            health.last_error = f"{type(error).__name__}: {error}"
            logger.exception("rule %s failed on %s", rule.meta.uid, event_class)
            return None
        finally:
            rule.filtered = False

    def _cut(
        self, event_class: str, columns: tuple[str, ...], read: frozenset[str] | None
    ) -> list[str] | None:
        """The `columns` (in order) that `read` names, or with `read` None, that any rule
        of the class reads; None: all of them."""
        key = (event_class, columns, read)
        if key not in self._cuts:
            wanted: set[str] | frozenset[str] | None = read
            if read is None:
                reads = self._reads[event_class]
                wanted = (
                    None
                    if any(r is None for r in reads)
                    else set().union(*(r or () for r in reads))
                )
            self._cuts[key] = None if wanted is None else [c for c in columns if c in wanted]
        return self._cuts[key]

    def _masks(self, event_class: str, frame: pl.DataFrame) -> dict[int, pl.Series] | None:
        """Each prefiltered rule's row mask, evaluated together (shared sub-expressions once).

        None when they cannot be (a filter names a column the frame lacks): then each
        rule gets every row and fails, or not, on its own.
        """
        filters = self._filters[event_class]
        named = [
            where.alias(f"_p{index}") for index, where in enumerate(filters) if where is not None
        ]
        if not named:
            return None
        try:
            masks = frame.lazy().select(named).collect()
        except pl.exceptions.PolarsError:
            return None
        return {
            index: masks.get_column(f"_p{index}")
            for index, where in enumerate(filters)
            if where is not None
        }

    @staticmethod
    def _context_columns(reads: list[frozenset[str] | None]) -> tuple[str, ...] | None:
        """Context columns some rule reads; None: all (a rule reads every column)."""
        if any(r is None for r in reads):
            return None
        return tuple(c for c in CONTEXT_COLUMNS if any(c in (r or ()) for r in reads))

    def process_all(self, frames: Iterable[tuple[str, pl.DataFrame]]) -> EngineResult:
        total = EngineResult()
        for name, frame in frames:
            total.extend(self.process(name, frame))
        return total
