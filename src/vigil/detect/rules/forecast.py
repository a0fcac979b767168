"""Forecast deviation: volume far above what the forecast expected ("a flood, not a peak").

    kind: forecast
    class: http_activity
    series: web            # the forecast key is `<store>/web`, or `estate/web` estate-wide
    per_store: false
    bucket: 5m             # actual volume is compared every 5 minutes
    factor: 2.0            # flagged above factor x the forecast's upper bound
    min_count: 500         # and at least this many events in the bucket
    refit: 6h

The rule keeps hourly counts per key (up to `history`), fits the forecaster
(statsforecast MSTL with the estate's peak calendar, `vigil.detect.forecast`)
once there are `min_days` of them and again every `refit` of event time, and
compares each closed bucket with the forecast. A Black Friday surge the
calendar expects is not a flood; the same surge on a normal Tuesday is. Until
the first fit the rule is silent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.rules.base import (
    Duration,
    EventFilter,
    Rule,
    RuleSpec,
    class_schema,
    compile_where,
    kinds,
)
from vigil.detect.types import TIME, Alert, RuleError

HOUR = timedelta(hours=1)


class ForecastSpec(RuleSpec, EventFilter):
    kind: Literal["forecast"] = "forecast"
    series: str = Field(description="Name of the volume, the second part of the forecast key.")
    per_store: bool = Field(default=True, description="One series per store, or one estate-wide.")
    bucket: Duration = Field(default=timedelta(minutes=5), description="Comparison bucket.")
    factor: float = Field(default=2.0, gt=1.0, description="Flag above factor x upper bound.")
    min_count: int = Field(default=100, ge=1, description="Fewest events a flagged bucket has.")
    refit: Duration = Field(default=timedelta(hours=6), description="Refit this often.")
    history: Duration = Field(default=timedelta(days=28), description="Hourly history kept.")
    min_days: int = Field(default=2, ge=2, description="Days of history before forecasting.")


@kinds.register("forecast")
class ForecastRule(Rule):
    """Closed buckets far above the forecast raise an alert, per series key."""

    spec_type: ClassVar[type[RuleSpec]] = ForecastSpec
    spec: ForecastSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, ForecastSpec):
            raise RuleError("forecast needs a forecast spec", origin)
        if HOUR % spec.bucket:
            raise RuleError(f"bucket {spec.bucket} must divide an hour", origin)
        self.where = compile_where(spec.where, class_schema(spec.event_class), origin)
        self._hourly = pl.DataFrame()
        self._open = pl.DataFrame()
        self._forecast: object | None = None
        self._fitted_at: datetime | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.spec.event_class,)

    @property
    def suppress(self) -> timedelta:
        return self.spec.suppress or timedelta(minutes=30)

    def _keyed(self, frame: pl.DataFrame) -> pl.DataFrame:
        store = pl.col("store.uid") if self.spec.per_store else pl.lit("estate")
        return frame.select(
            (store.fill_null("unknown") + pl.lit("/" + self.spec.series)).alias("key"),
            pl.col(TIME),
        )

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        matched = self._keyed(frame.filter(self.where))
        if len(matched):
            self._hourly = _add(self._hourly, matched, HOUR)
            self._open = _add(self._open, matched, self.spec.bucket)
        found: list[Alert] = []
        if len(self._open):
            done = pl.col("time") + self.spec.bucket <= watermark
            closed = self._open.filter(done)
            self._open = self._open.filter(~done)
            self._refit(watermark)
            if len(closed) and self._forecast is not None:
                found = self._flag(closed, event_class)
        self._hourly = self._hourly.filter(pl.col("time") >= watermark - self.spec.history)
        self.prune_suppression(watermark)
        return found

    def _refit(self, watermark: datetime) -> None:
        estate = self.context.estate if self.context is not None else None
        if estate is None or self._hourly.is_empty():
            return
        if self._fitted_at is not None and watermark < self._fitted_at + self.spec.refit:
            return
        from vigil.detect.forecast import Forecaster

        until = watermark.replace(minute=0, second=0, microsecond=0)
        history = self._hourly.filter(pl.col("time") < until)
        if history.is_empty():  # every hour counted so far is the current one
            return
        span = history.get_column("time").max() - history.get_column("time").min()  # type: ignore[operator]
        if not isinstance(span, timedelta) or span < timedelta(days=self.spec.min_days):
            return
        forecaster = Forecaster(estate, min_days=self.spec.min_days)
        forecaster.fit(history, until=until)
        self._forecast = forecaster.forecast(horizon=int(self.spec.refit / HOUR) + 24)
        self._fitted_at = watermark

    def _flag(self, closed: pl.DataFrame, event_class: str) -> list[Alert]:
        from vigil.detect.forecast import Forecast, deviation

        if not isinstance(self._forecast, Forecast):
            return []
        compared = deviation(
            self._forecast,
            closed,
            bucket=self.spec.bucket,
            factor=self.spec.factor,
            min_count=self.spec.min_count,
        )
        flagged = compared.filter(pl.col("flagged"))
        if flagged.is_empty():
            return []
        hits = flagged.with_columns(
            pl.col("time").alias("_first"),
            (pl.col("time") + self.spec.bucket).alias("_last"),
            (
                pl.col("key").str.split("/").list.first()
                if self.spec.per_store
                else pl.lit(None, pl.String)
            ).alias("store.uid"),
            pl.col("explanation").alias("forecast"),
        ).drop("time")
        keys = ["key"]
        return self.alerts(hits, keys, lambda fired: fired.drop("_first", "_last"), event_class)


def _add(counts: pl.DataFrame, rows: pl.DataFrame, bucket: timedelta) -> pl.DataFrame:
    part = rows.group_by("key", pl.col(TIME).dt.truncate(bucket).alias("time")).agg(
        pl.len().cast(pl.Float64).alias("value")
    )
    merged = pl.concat([counts, part], how="vertical_relaxed") if len(counts) else part
    return merged.group_by("key", "time").agg(pl.col("value").sum())
