"""What forecasting hands on: the forecast itself, the policy level, and its errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl

from vigil.detect.types import DetectError

KEY = "key"
"""Series key: `store_uid/kind` (`031/web`); the part before the first `/` names the store."""
VALUE = "value"
"""Count (or sum, e.g. bytes) per bucket, never negative."""

FORECAST_SCHEMA = pl.Schema(
    {
        KEY: pl.String(),
        "time": pl.Datetime("ms", "UTC"),
        "expected": pl.Float64(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
        "normal": pl.Float64(),
        "peak_level": pl.Int8(),
        "closed": pl.Boolean(),
        "multiplier": pl.Float64(),
        "model": pl.String(),
    }
)
"""Columns of `Forecast.frame`, one row per key and future bucket (bucket start, UTC)."""


class ForecastError(DetectError):
    """Bad input to the forecaster, `deviation`, `traffic_counts` or `policy_level`."""


@dataclass(frozen=True)
class Forecast:
    """Expected volume per key and future bucket, with a prediction interval.

    `expected`, `lower` and `upper` already carry the business context: on a peak
    day they are scaled by `multiplier`, on a closed day they are close to 0.
    `normal` is the key's usual volume for that hour of the week on an ordinary
    day, so `expected / normal` says how far above normal the coming hours are.
    Keys with too little history have no rows: they are listed in `skipped`, with why.
    """

    frame: pl.DataFrame
    bucket: timedelta
    coverage: int
    """Nominal coverage of [lower, upper], in percent."""
    start: datetime | None
    """First forecast bucket (the end of the history), None when nothing was fitted."""
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> list[str]:
        return sorted(self.frame[KEY].unique().to_list())


@dataclass(frozen=True)
class PolicyLevel:
    """How alert a store's policies should be now: 0 normal to 3 highest peak.

    Playbooks read it to apply pre-emptive rules before a peak starts.
    """

    level: int
    reason: str
    peak: str | None = None
    """Name of the calendar peak behind the level, if one is."""
    starts_at: datetime | None = None
    """When that peak starts (local midnight of its first day, UTC) or the surge is expected."""
