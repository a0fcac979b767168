"""`Forecaster`: expected volume per store and kind, with intervals and the peak calendar.

Model choice (statsforecast, fitted on the square root of the counts so the
interval widens with the volume, as Poisson-like counts do):

- 14 days of history or more: MSTL with daily and weekly seasonality (24 and
  168 hourly buckets); the seasonally adjusted rest is forecast by AutoETS with
  level only (`ANN`). A trended ETS extrapolates the noise of the last hours
  into tomorrow; the level-only one is steadier and about 30 % faster to fit.
- 2 to 14 days: MSTL with daily seasonality only. It averages the daily shape
  over all days seen, where SeasonalNaive copies yesterday with its noise
  (about half the error on synthetic shop traffic) and AutoETS with a season of
  24 takes seconds per series.
- Under 2 days: no forecast. The key is listed in `Forecast.skipped`; it is
  not an error, since a new store or site starts that way.
- A series a model cannot fit (e.g. all zeros) falls back to SeasonalNaive(24).

Prediction interval: MSTL's own, widened to at least the noise seen between the
same buckets one season apart (`history.spread`), since the seasonal fit on a
few weeks soaks up part of the noise and the raw interval is too narrow.

Business context: history on peak days is divided by the peak's multiplier and
closed days are replaced by the usual volume before fitting, so a Black Friday
in the history does not read as a trend; forecasts on peak days are multiplied
back. A key's multiplier for a level is learned from its past peak days of that
level (their volume over the usual volume of the same hours of the week) when
it has at least one whole such day, else `peak_multipliers[level]` applies.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Any

import polars as pl

from vigil.detect.forecast import engine, history
from vigil.detect.forecast.calendar import with_peaks
from vigil.detect.forecast.counts import check_bucket, check_counts, to_buckets
from vigil.detect.forecast.types import FORECAST_SCHEMA, KEY, VALUE, Forecast, ForecastError
from vigil.detect.types import TIME
from vigil.estate.types import Estate

logger = logging.getLogger(__name__)

DEFAULT_PEAK_MULTIPLIERS: Mapping[int, float] = {1: 1.5, 2: 2.0, 3: 3.0}
"""Expected volume on a peak day of level 1-3 over an ordinary day, until learned."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class _Fitted:
    """Learned state: what `fit` found and `forecast` reads."""

    engines: list[Any]
    series: pl.DataFrame
    """key, start (first bucket), length (buckets up to `end`), lag, model, spread."""
    multipliers: pl.DataFrame
    profile_week: pl.DataFrame
    profile_day: pl.DataFrame
    end: datetime | None
    skipped: dict[str, str]


class Forecaster:
    """Fits per-key count series and forecasts the next buckets with intervals.

    Hyperparameters are the constructor's arguments; `fit` replaces the learned
    state and returns None; `forecast` reads it. Deterministic for the same input.

    >>> forecaster = Forecaster(estate)
    >>> forecaster.fit(traffic_counts(web, ["store.uid"], kind="web"))
    >>> forecast = forecaster.forecast(24)
    """

    def __init__(
        self,
        estate: Estate,
        *,
        bucket: timedelta = timedelta(hours=1),
        coverage: int = 95,
        peak_multipliers: Mapping[int, float] = DEFAULT_PEAK_MULTIPLIERS,
        closed_multiplier: float = 0.05,
        min_days: int = 2,
        weekly_days: int = 14,
        max_days: int = 56,
        site_timezone: str = "UTC",
        n_jobs: int = 1,
    ) -> None:
        self.estate = estate
        self.bucket = check_bucket(bucket)
        self.coverage = coverage
        self.peak_multipliers = dict(peak_multipliers)
        self.closed_multiplier = closed_multiplier
        self.min_days = min_days
        self.weekly_days = weekly_days
        self.max_days = max_days
        self.site_timezone = site_timezone
        self.n_jobs = n_jobs
        if not 50 <= coverage < 100:
            raise ForecastError(f"coverage {coverage} must be a percentage in [50, 100)")
        if sorted(self.peak_multipliers) != [1, 2, 3] or min(self.peak_multipliers.values()) <= 0:
            raise ForecastError("peak_multipliers needs a positive multiplier for levels 1, 2, 3")
        if not (2 <= min_days <= weekly_days and 14 <= weekly_days <= max_days):
            raise ForecastError("needs 2 <= min_days <= weekly_days, 14 <= weekly_days <= max_days")
        if not 0 <= closed_multiplier <= 1:
            raise ForecastError("closed_multiplier must be in [0, 1]")
        self._day = int(timedelta(days=1) / self.bucket)
        self._fitted: _Fitted | None = None

    def fit(self, counts: pl.DataFrame, until: datetime | None = None) -> None:
        """Learn from counts (`key`, `time` UTC, `value`) up to `until` (exclusive).

        `until` defaults to the end of the last bucket seen; every key's series runs
        up to it, and buckets a key has no row for count as 0. Counts finer than the
        bucket are added up; only the last `max_days` are used. Keys with under
        `min_days` of history get no forecast (see `Forecast.skipped`). Raises
        `ForecastError` on bad input.
        """
        buckets = to_buckets(check_counts(counts, "history"), self.bucket)
        end = self._end(buckets, until)
        if end is None:
            self._fitted = _Fitted(
                [],
                _series(),
                pl.DataFrame(schema=history.MULTIPLIER_SCHEMA),
                history.empty_profile("how"),
                history.empty_profile("hod"),
                None,
                {},
            )
            return
        buckets = buckets.filter(pl.col(TIME) >= end - timedelta(days=self.max_days))
        series, skipped = self._series(buckets, end)
        frame = history.with_position(
            history.grid(series, buckets, self.bucket, self.estate, self.site_timezone),
            self.bucket,
            self._day,
        )
        week, day = history.profiles(frame)
        frame = history.with_normal(frame, week, day)
        multipliers = history.learn_multipliers(
            frame, series[KEY], self.peak_multipliers, self._day
        )
        frame = history.with_multiplier(frame, multipliers, self.closed_multiplier).with_columns(
            pl.when(pl.col("closed"))
            .then(pl.col("normal"))
            .otherwise(pl.col(VALUE) / pl.col("multiplier"))
            .sqrt()
            .alias("y")
        )
        series = series.join(history.spread(frame, series, self._day), on=KEY).sort(KEY)
        self._fitted = _Fitted(
            engines=engine.fit_engines(frame, series, self._day, self.n_jobs),
            series=series,
            multipliers=multipliers,
            profile_week=week,
            profile_day=day,
            end=end,
            skipped=skipped,
        )

    def _end(self, buckets: pl.DataFrame, until: datetime | None) -> datetime | None:
        last = buckets[TIME].max() if buckets.height else None
        if last is not None and not isinstance(last, datetime):
            raise ForecastError(f"history: unexpected time value {last!r}")
        if until is None:
            return None if last is None else last + self.bucket
        if until.tzinfo is None or until.utcoffset() is None:
            raise ForecastError("until must be an aware datetime")
        end = until.astimezone(UTC)
        if (end - _EPOCH) % self.bucket:
            raise ForecastError(f"until {end:%Y-%m-%d %H:%M:%S} UTC is not on a bucket boundary")
        if last is not None and last >= end:
            raise ForecastError(f"history has buckets at or after until ({end:%Y-%m-%d %H:%M} UTC)")
        return end

    def _series(self, buckets: pl.DataFrame, end: datetime) -> tuple[pl.DataFrame, dict[str, str]]:
        """Per key: first bucket, length, seasonal lag and model; and the keys skipped."""
        weekly = self.weekly_days * self._day
        series = (
            buckets.group_by(KEY)
            .agg(pl.col(TIME).min().alias("start"))
            .with_columns(
                (
                    (pl.lit(end) - pl.col("start")).dt.total_milliseconds()
                    // int(self.bucket / timedelta(milliseconds=1))
                ).alias("length")
            )
            .with_columns(
                pl.when(pl.col("length") >= weekly)
                .then(pl.lit(7 * self._day))
                .otherwise(pl.lit(self._day))
                .alias("lag"),
                pl.when(pl.col("length") >= weekly)
                .then(pl.lit(engine.WEEKLY_MODEL))
                .otherwise(pl.lit(engine.DAILY_MODEL))
                .alias("model"),
            )
            .sort(KEY)
        )
        needed = self.min_days * self._day
        skipped = {
            key: f"{length} buckets of history, needs {needed} ({self.min_days} days)"
            for key, length in series.filter(pl.col("length") < needed)
            .select(KEY, "length")
            .iter_rows()
        }
        if skipped:
            logger.info("no forecast for %d keys with too little history", len(skipped))
        return series.filter(pl.col("length") >= needed), skipped

    def forecast(self, horizon: int = 24) -> Forecast:
        """The next `horizon` buckets after the history, for every key fitted."""
        if self._fitted is None:
            raise ForecastError("call fit before forecast")
        if horizon < 1:
            raise ForecastError(f"horizon {horizon} must be at least 1 bucket")
        fitted = self._fitted
        predicted = engine.predict(fitted.engines, horizon, self.coverage).join(
            fitted.series.select(KEY, "start", "spread"), on=KEY
        )
        predicted = with_peaks(
            predicted.with_columns(history.bucket_time(self.bucket)),
            self.estate,
            self.site_timezone,
        )
        predicted = history.with_multiplier(
            history.with_normal(
                history.with_position(predicted, self.bucket, self._day),
                fitted.profile_week,
                fitted.profile_day,
            ),
            fitted.multipliers,
            self.closed_multiplier,
        )
        width = NormalDist().inv_cdf(0.5 + self.coverage / 200) * pl.col("spread")
        low = pl.col("mean") - pl.max_horizontal(pl.col("mean") - pl.col("lo"), width)
        high = pl.col("mean") + pl.max_horizontal(pl.col("hi") - pl.col("mean"), width)
        frame = predicted.select(
            KEY,
            TIME,
            *(
                (part.clip(lower_bound=0) ** 2 * pl.col("multiplier")).alias(name)
                for name, part in (("expected", pl.col("mean")), ("lower", low), ("upper", high))
            ),
            "normal",
            "peak_level",
            "closed",
            "multiplier",
            "model",
        )
        return Forecast(
            frame.sort(KEY, TIME).cast(FORECAST_SCHEMA),
            self.bucket,
            self.coverage,
            fitted.end,
            dict(fitted.skipped),
        )

    @property
    def multipliers(self) -> pl.DataFrame:
        """Per key and peak level 0-3: the multiplier in use and whether it was learned."""
        if self._fitted is None:
            return pl.DataFrame(schema=history.MULTIPLIER_SCHEMA)
        return self._fitted.multipliers


def _series() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            KEY: pl.String,
            "start": pl.Datetime("ms", "UTC"),
            "length": pl.Int64,
            "lag": pl.Int64,
            "model": pl.String,
            "spread": pl.Float64,
        }
    )
