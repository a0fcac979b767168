"""Windowed aggregates per key: threshold (count or sum), velocity (rate), distinct count.

State is bucketed, not per event: matching rows are counted into buckets of a
tenth of the window (at least one second) per key, and the value over the
sliding window is the sum of the buckets in it. So a window slides in steps of
a tenth of its length, and state is a few rows per active key, however many
events match. A distinct count keeps the distinct values per key and bucket.

    kind: distinct
    class: authentication
    where: {status_id: 2}
    group_by: [src_endpoint.ip]
    field: user.name
    window: 10m
    condition: {gte: 20}
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.rules.base import (
    EVIDENCE_ROWS,
    Condition,
    Duration,
    EventFilter,
    Rule,
    RuleSpec,
    check_columns,
    class_schema,
    compile_where,
    kinds,
    reads_of,
)
from vigil.detect.types import TIME, Alert, RuleError

Measure = Literal["count", "sum", "distinct"]


class AggregateSpec(RuleSpec, EventFilter):
    """A value per key over a sliding event-time window, compared with a condition."""

    group_by: list[str] = Field(default_factory=list, description="Key columns.")
    window: Duration = Field(description="Sliding window length, e.g. 10m.")
    condition: Condition = Field(description="When the value raises an alert, e.g. {gte: 20}.")
    field: str | None = Field(default=None, description="Column summed or counted distinct.")


class ThresholdSpec(AggregateSpec):
    kind: Literal["threshold"] = "threshold"
    aggregate: Literal["count", "sum"] = Field(
        default="count", description="Count matching events, or sum `field`."
    )


class VelocitySpec(AggregateSpec):
    kind: Literal["velocity"] = "velocity"
    per: Duration = Field(default=timedelta(minutes=1), description="Rate unit, e.g. 1m.")


class DistinctSpec(AggregateSpec):
    kind: Literal["distinct"] = "distinct"
    field: str = Field(description="Column whose distinct values are counted.")


class Aggregate(Rule):
    """Shared implementation; the kinds differ in what they measure."""

    spec_type: ClassVar[type[RuleSpec]] = AggregateSpec
    spec: AggregateSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, AggregateSpec):
            raise RuleError(f"{type(self).__name__} needs an aggregate spec", origin)
        schema = class_schema(spec.event_class)
        check_columns(schema, [*spec.group_by, *([spec.field] if spec.field else [])], origin)
        if self.measure != "count" and spec.field is None:
            raise RuleError(f"{spec.kind} with `{self.measure}` needs a `field`", origin)
        self.where = compile_where(spec.where, schema, origin)
        self.keys = list(spec.group_by)
        self.step = max(spec.window / 10, timedelta(seconds=1))
        self._buckets = pl.DataFrame()
        self._values = pl.DataFrame()
        self._recent = pl.DataFrame()

    @property
    def measure(self) -> Measure:
        if isinstance(self.spec, DistinctSpec):
            return "distinct"
        if isinstance(self.spec, ThresholdSpec):
            return self.spec.aggregate
        return "sum" if self.spec.field else "count"

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.spec.event_class,)

    def reads(self, event_class: str) -> set[str] | None:
        return reads_of(self.where, TIME, self.keys, self.spec.field)

    def prefilter(self, event_class: str) -> pl.Expr | None:
        return self.where

    def prune(self, watermark: datetime) -> None:
        self._prune(watermark)

    @property
    def suppress(self) -> timedelta:
        """Default: an hour, or the window if longer (one alert per burst, not per step)."""
        return self.spec.suppress or max(self.spec.window, timedelta(hours=1))

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.catch_up()
        keys, window = self.keys, self.spec.window
        matched = frame.filter(self.where)
        if self.keys:
            matched = matched.drop_nulls(self.keys)
        found: list[Alert] = []
        if not matched.is_empty():
            matched = matched.with_columns(pl.col(TIME).dt.truncate(self.step).alias("_b"))
            touched = self._count(matched)
            windows = self._windows(touched, window)
            value = windows.get_column("_value")
            if isinstance(self.spec, VelocitySpec):
                windows = windows.with_columns((value / (window / self.spec.per)).alias("_value"))
            hits = windows.filter(self.spec.condition.expr("_value"))
            if isinstance(self.spec, VelocitySpec):
                hits = hits.rename({"_value": "rate"})
            elif self.measure == "distinct":
                hits = hits.rename({"_value": "distinct"})
            rows = (
                pl.concat([self._recent, matched], how="diagonal_relaxed")
                if len(self._recent)
                else matched
            )
            found = self.alerts(hits, keys, lambda fired: _evidence(rows, fired, keys), event_class)
            self._recent = _keep_recent(rows, keys)
        self._prune(watermark)
        return found

    def _count(self, matched: pl.DataFrame) -> pl.DataFrame:
        """Add the rows to the buckets; the (key, bucket) pairs they touched."""
        keys = [*self.keys, "_b"]
        value = pl.col(self.spec.field).cast(pl.Float64) if self.spec.field else pl.lit(0.0)
        part = matched.group_by(keys).agg(
            pl.len().alias("_n"),
            value.sum().alias("_s") if self.measure == "sum" else pl.lit(0.0).alias("_s"),
            pl.col(TIME).min().alias("_t0"),
            pl.col(TIME).max().alias("_t1"),
        )
        buckets = (
            pl.concat([self._buckets, part], how="vertical_relaxed") if len(self._buckets) else part
        )
        self._buckets = buckets.group_by(keys).agg(
            pl.col("_n").sum(), pl.col("_s").sum(), pl.col("_t0").min(), pl.col("_t1").max()
        )
        if self.measure == "distinct" and self.spec.field is not None:
            seen = matched.select(*keys, pl.col(self.spec.field).alias("_v")).drop_nulls("_v")
            self._values = (
                pl.concat([self._values, seen], how="vertical_relaxed")
                if len(self._values)
                else seen
            ).unique()
        return part.select(keys)

    def _windows(self, touched: pl.DataFrame, window: timedelta) -> pl.DataFrame:
        """The windowed value at the end of every touched bucket, per key."""
        on = self.keys or None
        inside = (pl.col("_b_in") > pl.col("_b") - window) & (pl.col("_b_in") <= pl.col("_b"))
        buckets = self._buckets.rename({"_b": "_b_in"})
        joined = (
            touched.join(buckets, on=on, how="inner", nulls_equal=True)
            if on
            else touched.join(buckets, how="cross")
        ).filter(inside)
        windows = joined.group_by([*self.keys, "_b"]).agg(
            pl.col("_n").sum().alias("count"),
            pl.col("_s").sum().alias("sum"),
            pl.col("_t0").min().alias("_first"),
            pl.col("_t1").max().alias("_last"),
        )
        if self.measure == "distinct":
            values = self._values.rename({"_b": "_b_in"})
            joined_values = (
                touched.join(values, on=on, how="inner", nulls_equal=True)
                if on
                else touched.join(values, how="cross")
            ).filter(inside)
            distinct = joined_values.group_by([*self.keys, "_b"]).agg(
                pl.col("_v").n_unique().alias("_value"),
                pl.col("_v").unique().sort().head(EVIDENCE_ROWS).alias("values"),
            )
            return windows.join(distinct, on=[*self.keys, "_b"], how="inner", nulls_equal=True)
        chosen = "sum" if self.measure == "sum" else "count"
        return windows.with_columns(pl.col(chosen).cast(pl.Float64).alias("_value"))

    def _prune(self, watermark: datetime) -> None:
        horizon = watermark - self.spec.window - self.step
        if len(self._buckets):
            self._buckets = self._buckets.filter(pl.col("_b") >= horizon)
        if len(self._values):
            self._values = self._values.filter(pl.col("_b") >= horizon)
        if len(self._recent):
            self._recent = self._recent.filter(pl.col(TIME) >= horizon)
        self.prune_suppression(watermark)


def _evidence(rows: pl.DataFrame, fired: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The matching rows of each fired window, oldest first, a bounded number per alert."""
    hits = fired.select(*keys, "_hit", "_first", "_last")
    joined = (
        rows.join(hits, on=keys, how="inner", nulls_equal=True)
        if keys
        else rows.join(hits, how="cross")
    )
    return (
        joined.filter((pl.col(TIME) >= pl.col("_first")) & (pl.col(TIME) <= pl.col("_last")))
        .drop("_first", "_last", "_b")
        .sort(TIME)
        .group_by("_hit", maintain_order=True)
        .head(EVIDENCE_ROWS)
    )


def _keep_recent(rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The newest matching rows per key, for evidence (a bounded number per key)."""
    if not keys:
        return rows.tail(EVIDENCE_ROWS * 5)
    return rows.group_by(keys, maintain_order=True).tail(EVIDENCE_ROWS * 5)


@kinds.register("threshold")
class Threshold(Aggregate):
    """Count (or sum of a field) per key in a window reaches a bound."""

    spec_type: ClassVar[type[RuleSpec]] = ThresholdSpec


@kinds.register("velocity")
class Velocity(Aggregate):
    """Rate per key (events or a field's sum per `per`) over a window reaches a bound."""

    spec_type: ClassVar[type[RuleSpec]] = VelocitySpec


@kinds.register("distinct")
class Distinct(Aggregate):
    """Distinct values of a field per key in a window reach a bound."""

    spec_type: ClassVar[type[RuleSpec]] = DistinctSpec
