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

After an alert a key is quiet for `suppress`. Two options shorten that, for
attacks that come in waves or grow (a DDoS): with `rearm`, a key whose value
has fallen back under the condition alerts again at its next crossing (one alert
per burst, not per hour; a burst ends at a bucket with matching rows whose
window is under the condition); with `escalate: 1.5`, a key alerts again, quiet or
not, when its value reaches 1.5 times the highest value it had in the window
after its last alert (a second flood on top of the first; the window is still
filling then, so the climb to the first flood's level is not one). Such an alert
carries the time of the row that met the higher bound.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

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
from vigil.detect.rules.state import Partitions
from vigil.detect.types import TIME, Alert, RuleError

Measure = Literal["count", "sum", "ratio", "distinct"]


class AggregateSpec(RuleSpec, EventFilter):
    """A value per key over a sliding event-time window, compared with a condition."""

    group_by: list[str] = Field(default_factory=list, description="Key columns.")
    window: Duration = Field(description="Sliding window length, e.g. 10m.")
    condition: Condition = Field(description="When the value raises an alert, e.g. {gte: 20}.")
    field: str | None = Field(default=None, description="Column summed or counted distinct.")
    rearm: bool = Field(
        default=False,
        description="A key whose value fell back under the condition alerts again at its "
        "next crossing, even within `suppress`.",
    )
    escalate: float | None = Field(
        default=None,
        gt=1,
        description="A key alerts again, even within `suppress`, when its value reaches "
        "this multiple of the highest it had in the window after its last alert.",
    )


class ThresholdSpec(AggregateSpec):
    kind: Literal["threshold"] = "threshold"
    aggregate: Literal["count", "sum", "ratio"] = Field(
        default="count",
        description="Count matching events, sum `field`, or the share of them that match `share`.",
    )
    share: dict[str, Any] | None = Field(
        default=None,
        description="ratio: the part of the matching events whose share is measured (0-1).",
    )
    min_count: int = Field(
        default=1, ge=1, description="ratio: matching events the window needs before it counts."
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
        if self.measure in ("sum", "distinct") and spec.field is None:
            raise RuleError(f"{spec.kind} with `{self.measure}` needs a `field`", origin)
        self.where = compile_where(spec.where, schema, origin)
        share = spec.share if isinstance(spec, ThresholdSpec) else None
        if (self.measure == "ratio") != (share is not None):
            raise RuleError("`share` goes with `aggregate: ratio`, and only with it", origin)
        self.share = compile_where(share, schema, origin) if share is not None else None
        self.min_count = spec.min_count if isinstance(spec, ThresholdSpec) else 1
        self.keys = list(spec.group_by)
        self.step = max(spec.window / 10, timedelta(seconds=1))
        self._buckets = Partitions("_b")
        """Per batch: count, sum and first/last time per (key, bucket); summed when read."""
        self._values = Partitions("_b")
        """Per batch: distinct values per (key, bucket) (distinct only)."""
        self._recent = Partitions(TIME, how="diagonal_relaxed")
        """Per batch: the matching rows, for evidence (the newest per key, when compacted)."""
        self._horizon: datetime | None = None
        self._episodes: dict[tuple[object, ...], Episode] = {}
        """`rearm`/`escalate` only: per key that alerted and is still quiet, its episode."""

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
        if self.share is None:
            return reads_of(self.where, TIME, self.keys, self.spec.field)
        where, share = reads_of(self.where, TIME, self.keys), reads_of(self.share)
        return None if where is None or share is None else where | share

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
        matched = frame if self.filtered else frame.filter(self.where)
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
            if not hits.is_empty():
                hits = self._crossing(hits, matched)
            episodic = self.spec.rearm or self.spec.escalate is not None
            if episodic:
                hits = self._episode(hits, windows, matched)
            if isinstance(self.spec, VelocitySpec):
                hits = hits.rename({"_value": "rate"})
            elif self.measure in ("distinct", "ratio"):
                hits = hits.rename({"_value": self.measure})
            if not hits.is_empty():
                rows = self._evidence_rows(matched)
                found = self.alerts(
                    hits,
                    keys,
                    lambda fired: _evidence(rows, fired, keys),
                    event_class,
                    suppress=not episodic,
                )
            self._recent.append(matched, self._fold_recent)
        self._prune(watermark)
        return found

    def _episode(
        self, hits: pl.DataFrame, windows: pl.DataFrame, matched: pl.DataFrame
    ) -> pl.DataFrame:
        """The hits that alert under `rearm`/`escalate` (they replace plain suppression).

        Walks each key's touched buckets in time order: a bucket under the condition
        ends the key's episode (`rearm`); a hit alerts when the key has no episode,
        its quiet time is over, or (`escalate`) its value reached the episode's level.
        Only keys with a hit or an episode are walked: a few rows per batch.
        """
        if hits.is_empty() and not self._episodes:
            return hits
        hits = hits.sort([*self.keys, "_b"], maintain_order=True)
        keys = self.keys
        below = windows.filter(~self.spec.condition.expr("_value"))
        if keys:
            known = pl.DataFrame(
                list(self._episodes), schema=hits.select(keys).schema, orient="row"
            )
            wanted = pl.concat([hits.select(keys), known], how="vertical_relaxed").unique()
            below = below.join(wanted, on=keys, how="semi", nulls_equal=True)
        steps = pl.concat(
            [hits.with_row_index("_i"), below.with_columns(pl.lit(None, pl.UInt32).alias("_i"))],
            how="diagonal_relaxed",
        ).sort([*keys, "_b", "_last"], nulls_last=True, maintain_order=True)
        fired: list[int] = []
        levels: list[float | None] = []
        settle = self.spec.window
        for row in steps.select(*keys, "_i", "_last", "_value").iter_rows():
            key, hit, last, value = row[: len(keys)], row[-3], row[-2], row[-1]
            episode = self._episodes.get(key)
            if hit is None:
                if episode is not None and self.spec.rearm:
                    del self._episodes[key]
                continue
            if episode is not None and last < min(episode.since + settle, episode.until):
                self._episodes[key] = replace(episode, peak=max(episode.peak, value))
                continue
            level = None if episode is None else episode.peak * (self.spec.escalate or 0.0)
            escalated = level is not None and self.spec.escalate is not None and value >= level
            if episode is None or last >= episode.until or escalated:
                fired.append(hit)
                levels.append(level if escalated else None)
                self._episodes[key] = Episode(last, last + self.suppress, value)
        picked = pl.DataFrame(
            {"_i": fired, "_level": levels}, schema={"_i": pl.UInt32, "_level": pl.Float64}
        )
        chosen = hits.with_row_index("_i").join(picked, on="_i", maintain_order="left").drop("_i")
        if chosen.get_column("_level").is_not_null().any():
            chosen = self._crossing(chosen, matched)
        return chosen.drop("_level")

    def _count(self, matched: pl.DataFrame) -> pl.DataFrame:
        """Add the rows to the buckets (a partition of this batch); the (key, bucket) pairs."""
        keys = [*self.keys, "_b"]
        part = matched.group_by(keys).agg(
            pl.len().alias("_n"),
            self._summed().sum().alias("_s"),
            pl.col(TIME).min().alias("_t0"),
            pl.col(TIME).max().alias("_t1"),
        )
        self._buckets.append(part, self._fold_buckets)
        if self.measure == "distinct" and self.spec.field is not None:
            seen = (
                matched.lazy()
                .select(*keys, pl.col(self.spec.field).alias("_v"))
                .drop_nulls("_v")
                .unique()
                .collect()
            )
            self._values.append(seen, self._fold_values)
        return part.select(keys)

    def _crossing(self, hits: pl.DataFrame, matched: pl.DataFrame) -> pl.DataFrame:
        """`_last` moved back to the row at which the window's value first met the condition.

        A hit is known per bucket; the finding is complete at the row inside it that
        crossed the bound, up to a step earlier than the bucket's last row. What the
        window held before this batch's rows of the bucket is the prior. For a distinct
        count the prior leaves out values this batch repeats, so the moment found is
        never earlier than the true one.
        """
        keys = [*self.keys, "_b"]
        rows = matched.lazy().sort(TIME, maintain_order=True)
        if self.measure == "distinct":
            column = pl.col(self.spec.field or TIME)
            rows = rows.filter(column.is_not_null())
            step = column.is_first_distinct().over(keys).cast(pl.Float64)
            total = pl.col("_value")
        elif self.measure in ("sum", "ratio"):
            step = self._summed()
            total = pl.col("sum")
        else:
            step = pl.lit(1.0)
            total = pl.col("count").cast(pl.Float64)
        running = rows.select(*keys, TIME, step.alias("_x"), pl.lit(1.0).alias("_y"))
        batch = running.group_by(keys).agg(pl.col("_x").sum(), pl.col("_y").sum())
        prior = (
            hits.lazy()
            .select(*keys, total.alias("_total"), pl.col("count").cast(pl.Float64))
            .join(batch, on=keys, how="inner", nulls_equal=True)
            .select(
                *keys,
                (pl.col("_total") - pl.col("_x")).alias("_prior"),
                (pl.col("count") - pl.col("_y")).alias("_prior_n"),
            )
        )
        scale = self.spec.window / self.spec.per if isinstance(self.spec, VelocitySpec) else 1.0
        value = (pl.col("_prior") + pl.col("_x").cum_sum().over(keys)) / scale
        if self.measure == "ratio":
            seen = pl.col("_prior_n") + pl.col("_y").cum_sum().over(keys)
            value = pl.when(seen >= self.min_count).then(value / seen)
        met = self.spec.condition.expr("_run")
        if "_level" in hits.columns:  # an escalation: the higher bound is the one met
            levels = hits.lazy().select(*keys, "_level")
            prior = prior.join(levels, on=keys, how="left", nulls_equal=True)
            met = met & (pl.col("_level").is_null() | (pl.col("_run") >= pl.col("_level")))
        crossed = (
            running.join(prior, on=keys, how="inner", nulls_equal=True, maintain_order="left")
            .with_columns(value.alias("_run"))
            .filter(met)
            .group_by(keys)
            .agg(pl.col(TIME).min().alias("_cross"))
            .collect()
        )
        return (
            hits.join(crossed, on=keys, how="left", nulls_equal=True, maintain_order="left")
            .with_columns(pl.coalesce("_cross", "_last").alias("_last"))
            .drop("_cross")
        )

    def _fold_buckets(self, buckets: pl.DataFrame) -> pl.DataFrame:
        return (
            self._live(buckets, "_b")
            .group_by([*self.keys, "_b"])
            .agg(pl.col("_n").sum(), pl.col("_s").sum(), pl.col("_t0").min(), pl.col("_t1").max())
        )

    def _fold_values(self, values: pl.DataFrame) -> pl.DataFrame:
        return self._live(values, "_b").unique()

    def _fold_recent(self, rows: pl.DataFrame) -> pl.DataFrame:
        return _keep_recent(self._live(rows, TIME), self.keys)

    def _live(self, frame: pl.DataFrame, column: str) -> pl.DataFrame:
        """The rows not older than the last pruning's horizon."""
        if self._horizon is None:
            return frame
        return frame.filter(pl.col(column) >= self._horizon)

    def _evidence_rows(self, matched: pl.DataFrame) -> pl.DataFrame:
        """The kept recent rows (the newest per key, as pruned) and this batch's rows."""
        recent = self._recent.frame()
        if recent.is_empty():
            return matched
        kept = self._fold_recent(recent)
        return pl.concat([kept, matched], how="diagonal_relaxed")

    def _windows(self, touched: pl.DataFrame, window: timedelta) -> pl.DataFrame:
        """The windowed value at the end of every touched bucket, per key."""
        on = self.keys or None
        inside = (pl.col("_b_in") > pl.col("_b") - window) & (pl.col("_b_in") <= pl.col("_b"))
        buckets = self._buckets.frame().lazy().rename({"_b": "_b_in"})
        near = touched.lazy()
        windows = (
            (
                near.join(buckets, on=on, how="inner", nulls_equal=True)
                if on
                else near.join(buckets, how="cross")
            )
            .filter(inside)
            .group_by([*self.keys, "_b"])
            .agg(
                pl.col("_n").sum().alias("count"),
                pl.col("_s").sum().alias("sum"),
                pl.col("_t0").min().alias("_first"),
                pl.col("_t1").max().alias("_last"),
            )
        )
        if self.measure == "distinct":
            values = self._values.frame().lazy().rename({"_b": "_b_in"})
            distinct = (
                (
                    near.join(values, on=on, how="inner", nulls_equal=True)
                    if on
                    else near.join(values, how="cross")
                )
                .filter(inside)
                .group_by([*self.keys, "_b"])
                .agg(
                    pl.col("_v").n_unique().alias("_value"),
                    pl.col("_v").unique().sort().head(EVIDENCE_ROWS).alias("values"),
                )
            )
            return windows.join(
                distinct, on=[*self.keys, "_b"], how="inner", nulls_equal=True
            ).collect()
        if self.measure == "ratio":
            value = pl.when(pl.col("count") >= self.min_count).then(pl.col("sum") / pl.col("count"))
            return windows.with_columns(value.alias("_value")).collect()
        chosen = "sum" if self.measure == "sum" else "count"
        return windows.with_columns(pl.col(chosen).cast(pl.Float64).alias("_value")).collect()

    def _summed(self) -> pl.Expr:
        """What a bucket's `_s` sums per row: the field, the share's 0/1, or nothing."""
        if self.share is not None:
            return self.share.fill_null(value=False).cast(pl.Float64)
        if self.measure == "sum" and self.spec.field:
            return pl.col(self.spec.field).cast(pl.Float64).fill_null(0.0)
        return pl.lit(0.0)

    def _prune(self, watermark: datetime) -> None:
        horizon = watermark - self.spec.window - self.step
        if self._horizon is None or horizon > self._horizon:
            self._horizon = horizon
        self._buckets.prune(horizon)
        self._values.prune(horizon)
        self._recent.prune(horizon)
        self.prune_suppression(watermark)
        if self._episodes:  # a key past its quiet time alerts as if it had no episode
            self._episodes = {k: e for k, e in self._episodes.items() if e.until > watermark}


@dataclass(frozen=True)
class Episode:
    """A key that alerted at `since`: quiet until `until`, unless it escalates.

    `peak`: its highest value in the window after the alert (`escalate` compares with it).
    """

    since: datetime
    until: datetime
    peak: float


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
        .sort(TIME, maintain_order=True)  # ties in arrival order: the same every run
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
