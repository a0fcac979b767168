"""Rules that ask an ML detector: per event (`detector`) or per key and period (`baseline`).

Both hold a detector built from the rule's `detector:` section (`vigil.detect.ml`,
River-style: `learn`/`score` on batches, higher = more anomalous), apply the
threshold themselves, and teach the detector only what they did not flag, so a
detector never learns an attack as normal. During `warmup` (event time from the
first event the rule sees) they only learn.

    kind: baseline                      # one row per key and period, then scored
    class: pos_transaction
    group_by: [store.uid, cashier.uid]
    bucket: 8h
    measures:                           # count per bucket of rows matching each filter
      transactions: {}
      voids: {transaction.void_count|gte: 3}
      no_sales: {activity_name: No Sale}
    detector: {type: peer_group, metrics: [voids, no_sales], group: [store.uid, period]}
    threshold: 6

A baseline bucket is scored once it is complete (the watermark is past its end),
so its alert comes at most one bucket plus the lateness after the activity.
Buckets in which a key had no matching event are not rows (no zero-filling).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.context import OPEN, PEAK
from vigil.detect.rules.base import (
    Duration,
    EventFilter,
    Rule,
    RuleSpec,
    check_columns,
    class_schema,
    compile_where,
    kinds,
)
from vigil.detect.types import TIME, Alert, Detector, RuleError

PERIOD = "period"
"""Bucket start column of a baseline's rows (peer groups compare cashiers of one period)."""


class ScoredSpec(RuleSpec, EventFilter):
    detector: dict[str, Any] = Field(description="Detector config: {type: ..., ...}.")
    threshold: float = Field(description="Score at or above which a row raises an alert.")
    warmup: Duration = Field(
        default=timedelta(hours=12), description="Event time spent only learning."
    )
    group_by: list[str] = Field(default_factory=list, description="Key columns.")


class DetectorSpec(ScoredSpec):
    kind: Literal["detector"] = "detector"


class BaselineSpec(ScoredSpec):
    kind: Literal["baseline"] = "baseline"
    bucket: Duration = Field(description="Period each row aggregates, e.g. 1h or 8h.")
    measures: dict[str, dict[str, Any]] = Field(
        min_length=1, description="Column name -> filter; counts of matching rows per bucket."
    )
    sums: dict[str, str] = Field(
        default_factory=dict, description="Column name -> field summed per bucket."
    )


def _build(spec: ScoredSpec, origin: str) -> Detector:
    from vigil.detect.ml import build_detector

    return build_detector(spec.detector, origin)


class _Scored(Rule):
    spec: ScoredSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, ScoredSpec):
            raise RuleError(f"{spec.kind} needs a scored spec", origin)
        self.schema = class_schema(spec.event_class)
        check_columns(self.schema, spec.group_by, origin)
        self.where = compile_where(spec.where, self.schema, origin)
        self.detector = _build(spec, origin)
        self._learning_until: datetime | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.spec.event_class,)

    def _warming(self, first: object) -> datetime | None:
        first = self.stream_start or first
        if self._learning_until is None and isinstance(first, datetime):
            self._learning_until = first + self.spec.warmup
        return self._learning_until

    def _score(self, rows: pl.DataFrame, learning: pl.Expr) -> pl.DataFrame:
        """Rows with `_score` (0 while learning); learns from the rows not flagged."""
        scores = self.detector.score(rows) if len(rows) else pl.Series([], dtype=pl.Float64)
        explained = self.detector.explain(rows)
        scored = pl.concat(
            [rows, explained.select([c for c in explained.columns if c not in rows.columns])],
            how="horizontal",
        ).with_columns(pl.when(learning).then(0.0).otherwise(scores.fill_nan(0.0)).alias("_score"))
        flagged = pl.col("_score") >= self.spec.threshold
        keep = scored.select((~flagged).fill_null(value=True)).to_series()
        self.detector.learn(rows.filter(keep))
        return scored.filter(flagged)


@kinds.register("detector")
class DetectorRule(_Scored):
    """Every matching event is scored; events at or above the threshold raise alerts."""

    spec_type: ClassVar[type[RuleSpec]] = DetectorSpec

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        matched = frame.filter(self.where)
        if self.spec.group_by:
            matched = matched.drop_nulls(self.spec.group_by)
        found: list[Alert] = []
        if len(matched):
            until = self._warming(matched.get_column(TIME).min())
            learning = pl.col(TIME) < until if until is not None else pl.lit(value=True)
            flagged = self._score(matched, learning)
            if len(flagged):
                hits = flagged.with_columns(
                    pl.col(TIME).alias("_first"), pl.col(TIME).alias("_last")
                ).with_columns(*_confidence(self.spec.threshold))
                found = self.alerts(hits, self.spec.group_by, _rows, event_class)
        self.prune_suppression(watermark)
        return found


def _confidence(threshold: float) -> tuple[pl.Expr, pl.Expr]:
    """The detector's score kept as `score`; the alert's 0-1 score is 0.5 at the threshold."""
    return (
        pl.col("_score").alias("score"),
        (pl.col("_score") / max(threshold, 1e-9) / 2).clip(0, 1).alias("_score"),
    )


def _rows(fired: pl.DataFrame) -> pl.DataFrame:
    return fired.drop("_first", "_last", "_score")


@kinds.register("baseline")
class BaselineRule(_Scored):
    """Counts per key and bucket, scored by the detector once each bucket is complete."""

    spec_type: ClassVar[type[RuleSpec]] = BaselineSpec
    spec: BaselineSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, BaselineSpec):
            raise RuleError("baseline needs a baseline spec", origin)
        check_columns(self.schema, list(spec.sums.values()), origin)
        # `& time is not null` gives an empty filter (a literal True) the frame's length.
        self.measures = {
            name: pl.col(TIME).is_not_null()
            & compile_where(where, self.schema, f"{origin} measures.{name}")
            for name, where in spec.measures.items()
        }
        self._open = pl.DataFrame()

    @property
    def suppress(self) -> timedelta:
        return self.spec.suppress or self.spec.bucket

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        keys = self.spec.group_by
        matched = frame.filter(self.where)
        if keys:
            matched = matched.drop_nulls(keys)
        if len(matched):
            self._warming(matched.get_column(TIME).min())
            part = matched.group_by(
                [*keys, pl.col(TIME).dt.truncate(self.spec.bucket).alias(PERIOD)]
            ).agg(
                *(m.sum().cast(pl.Int64).alias(name) for name, m in self.measures.items()),
                *(pl.col(f).cast(pl.Float64).sum().alias(n) for n, f in self.spec.sums.items()),
                pl.col(OPEN).first().alias(OPEN)
                if OPEN in matched.columns
                else pl.lit(None).alias(OPEN),
                pl.col(PEAK).max().alias(PEAK)
                if PEAK in matched.columns
                else pl.lit(0).alias(PEAK),
                pl.col(TIME).min().alias("_first"),
                pl.col(TIME).max().alias("_last"),
            )
            merged = (
                pl.concat([self._open, part], how="diagonal_relaxed") if len(self._open) else part
            )
            values = [*self.measures, *self.spec.sums]
            self._open = merged.group_by([*keys, PERIOD]).agg(
                *(pl.col(v).sum() for v in values),
                pl.col(OPEN).first(),
                pl.col(PEAK).max(),
                pl.col("_first").min(),
                pl.col("_last").max(),
            )
        found: list[Alert] = []
        if len(self._open):
            done = pl.col(PERIOD) + self.spec.bucket <= watermark
            complete = self._open.filter(done).sort([PERIOD, *keys])
            self._open = self._open.filter(~done)
            if len(complete):
                until = self._learning_until
                learning = pl.col(PERIOD) < until if until is not None else pl.lit(value=True)
                flagged = self._score(complete, learning)
                if len(flagged):
                    # The alert is known when the bucket closes, not at its last event.
                    hits = flagged.with_columns(
                        *_confidence(self.spec.threshold),
                        (pl.col(PERIOD) + self.spec.bucket).alias("_last"),
                    )
                    found = self.alerts(hits, keys, _rows, event_class)
        self.prune_suppression(watermark)
        return found
