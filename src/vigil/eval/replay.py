"""Replay the event lake through a detection engine, in event-time order.

The same engine that runs live also runs over history: an evaluation replays a
simulated estate, `vigil detect backtest RULE --since 30d` replays the last
month for one rule. Replay walks the span in windows of `step`; for each
window it reads, for each class the engine's rules read, that window's rows
(one DuckDB query, parameters bound, pruned to the window's day partitions),
sorted by time, and hands them to the engine as one polars frame. No Python
runs per event. Only the columns the engine's rules read are read
(`Engine.columns`): a class has ~130 columns, mostly null, and most rules read
a handful.

Windows are at most `engine.lateness` long: the engine keeps one watermark for
the whole stream (the newest event time less the lateness), so after the rows
of one class up to the window's end, the next class's rows of the same window
are still inside the lateness. With a lateness of zero and several classes,
rows of the later classes arrive behind the watermark and are counted as late.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

import duckdb
import polars as pl

from vigil.detect.engine import Engine
from vigil.detect.types import TIME, Alert
from vigil.events.columns import polars_schema
from vigil.events.registry import event_class
from vigil.store.lake import Lake

logger = logging.getLogger(__name__)

DEFAULT_STEP = timedelta(minutes=15)
DEFAULT_CHUNK = timedelta(hours=6)
"""Span read per class and query; memory grows with it, the number of queries shrinks."""
_TICK = timedelta(milliseconds=1)
"""Event time resolution (OCSF `time` is in milliseconds): bounds are rounded up to it."""


@dataclass(frozen=True)
class ReplayProgress:
    """Where a replay is: the window just processed, of how many."""

    until: datetime
    windows_done: int
    windows_total: int
    events: int


@dataclass
class ReplayResult:
    """Alerts raised over the replayed span, rows the engine refused as late, rows handed over."""

    alerts: list[Alert] = field(default_factory=list)
    late_count: int = 0
    events: int = 0
    events_by_class: dict[str, int] = field(default_factory=dict)


def replay(
    lake: Lake,
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    step: timedelta = DEFAULT_STEP,
    progress: Callable[[ReplayProgress], None] | None = None,
    chunk: timedelta = DEFAULT_CHUNK,
) -> ReplayResult:
    """Feed the lake's events with `since <= time < until` to `engine`, oldest first.

    `since`/`until` default to the oldest and newest event of the classes the
    engine reads; naive datetimes are taken as UTC. The engine keeps its state
    between calls, so replaying a warm-up span and then the span under test
    through one engine is two calls.

    >>> result = replay(Lake(root), Engine(load_pack(), estate))  # doctest: +SKIP
    """
    step = timedelta(milliseconds=step // _TICK)
    if step <= timedelta(0):
        raise ValueError(f"step must be at least {_TICK}, not {step}")
    result = ReplayResult()
    classes = engine.classes
    if not classes:
        return result
    if engine.lateness > timedelta(0):
        step = min(step, engine.lateness)
    for name in classes:
        engine_schema(name)  # an unknown class fails here, before any query
    connection = lake.connect()
    try:
        bounds = _bounds(connection, classes, _utc(since), _utc(until))
        if bounds is None:
            return result
        start, end = bounds
        windows = _windows(start, end, step)
        done = 0
        per_chunk = step * max(1, chunk // step)  # whole windows, so chunks cut no window
        for chunk_lo, chunk_hi in _windows(start, end, per_chunk):
            # One query per class and chunk (each query has a fixed cost: the lake's files
            # are listed and their footers read), cut into windows by zero-copy slices.
            frames = {
                name: window_frame(connection, name, chunk_lo, chunk_hi, engine.columns(name))
                for name in classes
            }
            for lo, hi in _windows(chunk_lo, chunk_hi, step):
                for name in classes:
                    _feed(engine, name, _between(frames[name], lo, hi), result)
                done += 1
                if progress is not None:
                    progress(ReplayProgress(hi, done, len(windows), result.events))
    finally:
        connection.close()
    if result.late_count:
        logger.warning("replay: the engine refused %d row(s) as late", result.late_count)
    return result


def _feed(engine: Engine, name: str, frame: pl.DataFrame, result: ReplayResult) -> None:
    if frame.is_empty():
        return
    result.events += frame.height
    result.events_by_class[name] = result.events_by_class.get(name, 0) + frame.height
    outcome = engine.process(name, frame)
    result.alerts.extend(outcome.alerts)
    result.late_count += outcome.late.height


def _between(frame: pl.DataFrame, lo: datetime, hi: datetime) -> pl.DataFrame:
    """Rows with `lo <= time < hi` of a frame sorted by time (a slice, no copy)."""
    times = frame.get_column(TIME)
    first = int(times.search_sorted(lo, side="left"))
    last = int(times.search_sorted(hi, side="left"))
    return frame.slice(first, last - first)


def window_frame(
    connection: duckdb.DuckDBPyConnection,
    name: str,
    lo: datetime,
    hi: datetime,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Rows of class `name` with `lo <= time < hi`, sorted by time, in the engine's schema.

    The lake's views add the partition columns (`day`, `store`) and DuckDB reads
    times back as microseconds; the engine's rules expect exactly the class's
    columns and types, so the frame is cut and cast to them. A replay must hand
    the engine the same sequence every time: DuckDB scans the lake's files in
    parallel but keeps their order (the sorted glob of the partitions, and
    `preserve_insertion_order`, its default), so a stable sort by time suffices,
    and none when the rows come sorted (one file per class and day and store).
    `columns`: only these (those the class has; `time` always), None: all.
    """
    schema = engine_schema(name)
    if columns is not None:
        wanted = {TIME, *columns}
        schema = pl.Schema([(c, kind) for c, kind in schema.items() if c in wanted])
    names = ", ".join(f'"{column}"' for column in schema.names())
    # The class name is checked by `engine_schema` (a known class); values are bound.
    sql = (
        f'SELECT {names} FROM "{name}" '  # noqa: S608
        "WHERE day >= ? AND day <= ? AND time >= ? AND time < ?"
    )
    last_day = (hi - _TICK).date()
    relation = connection.sql(sql, params=[lo.date(), last_day, lo, hi])
    frame: pl.DataFrame = relation.pl().cast(dict(schema.items()))
    times = frame.get_column(TIME)
    if frame.height < 2 or times.is_sorted():
        return frame.set_sorted(TIME) if frame.height else frame
    return frame.sort(TIME, maintain_order=True)


@cache
def engine_schema(name: str) -> pl.Schema:
    """Columns and polars types of class `name` as the engine's rules read them."""
    return polars_schema(event_class(name))


def _bounds(
    connection: duckdb.DuckDBPyConnection,
    classes: list[str],
    since: datetime | None,
    until: datetime | None,
) -> tuple[datetime, datetime] | None:
    """The span to replay: the given bounds, narrowed to the oldest/newest event of `classes`.

    `--since 30d` over a lake that holds one day walks that day, not 30 days of empty windows.
    """
    union = " UNION ALL ".join(
        f'SELECT min(time) AS lo, max(time) AS hi FROM "{name}"'  # noqa: S608
        for name in classes
    )
    rows = connection.sql(f"SELECT min(lo), max(hi) FROM ({union})").fetchall()  # noqa: S608
    oldest, newest = rows[0] if rows else (None, None)
    if not isinstance(oldest, datetime) or not isinstance(newest, datetime):
        return None
    first, last = _utc(oldest), _utc(newest + _TICK)
    if first is None or last is None:  # pragma: no cover - both are datetimes
        return None
    since = first if since is None else max(since, first)
    until = last if until is None else min(until, last)
    if since >= until:
        return None
    return since, until


def _windows(start: datetime, end: datetime, step: timedelta) -> list[tuple[datetime, datetime]]:
    windows = []
    lo = start
    while lo < end:
        hi = min(lo + step, end)
        windows.append((lo, hi))
        lo = hi
    return windows


def _utc(moment: datetime | None) -> datetime | None:
    """In UTC (naive is taken as UTC), rounded up to the millisecond.

    Rounding up keeps `time >= since` and `time < until` exact for millisecond
    event times, in SQL and in the slices of the millisecond time column alike.
    """
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    extra = moment.microsecond % 1000
    return moment + timedelta(microseconds=1000 - extra) if extra else moment
