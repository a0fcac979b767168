"""Actual volume against the forecast: the DDoS signal, per key and bucket.

Counts may come in finer buckets than the forecast (5 minutes against an hourly
forecast), so a flood is flagged within minutes rather than at the end of the
hour. The forecast is then scaled down: the expected value by the share of the
hour, the interval's half-widths by its square root, as counts of independent
arrivals spread (wider, so fewer false alarms, than scaling the bounds alike).
"""

from __future__ import annotations

import math
from datetime import timedelta

import polars as pl

from vigil.detect.forecast.counts import check_bucket, check_counts, to_buckets
from vigil.detect.forecast.types import KEY, VALUE, Forecast, ForecastError
from vigil.detect.types import TIME

UNITS = {"web": "requests", "network": "flows", "pos": "transactions", "bytes": "bytes"}

DEVIATION_SCHEMA = pl.Schema(
    {
        KEY: pl.String(),
        TIME: pl.Datetime("ms", "UTC"),
        "actual": pl.Float64(),
        "expected": pl.Float64(),
        "lower": pl.Float64(),
        "upper": pl.Float64(),
        "ratio": pl.Float64(),
        "peak_level": pl.Int8(),
        "flagged": pl.Boolean(),
        "explanation": pl.String(),
    }
)
"""Columns `deviation` returns; forecast columns are null where no forecast covers the bucket."""


def deviation(
    forecast: Forecast,
    actual: pl.DataFrame,
    *,
    bucket: timedelta | None = None,
    factor: float = 1.5,
    min_count: float = 20.0,
) -> pl.DataFrame:
    """Per key and bucket: actual, expected, interval, and a flag when actual is far above.

    A bucket is flagged when `actual > factor * upper` and `actual >= min_count`
    (per bucket of `actual`), so a handful of requests against a closed store's
    near-zero forecast is not a flood. Buckets no forecast covers (a skipped key,
    beyond the horizon) keep their actual value with null forecast columns and
    are never flagged: no forecast, no judgement.

    >>> deviation(forecast, counts_5min, bucket=timedelta(minutes=5)).filter("flagged")
    """
    bucket = check_bucket(bucket or forecast.bucket)
    if forecast.bucket % bucket:
        raise ForecastError(f"bucket {bucket} must divide the forecast's bucket {forecast.bucket}")
    if factor < 1 or min_count < 0:
        raise ForecastError("factor must be >= 1 and min_count >= 0")
    share = bucket / forecast.bucket
    counts = to_buckets(check_counts(actual, "actual"), bucket)
    planned = forecast.frame.select(
        KEY, pl.col(TIME).alias("slot"), "expected", "lower", "upper", "peak_level"
    )
    expected = pl.col("expected") * share
    joined = (
        counts.with_columns(pl.col(TIME).dt.truncate(forecast.bucket).alias("slot"))
        .join(planned, on=[KEY, "slot"], how="left")
        .select(
            KEY,
            TIME,
            pl.col(VALUE).alias("actual"),
            expected.alias("expected"),
            (expected - (pl.col("expected") - pl.col("lower")) * math.sqrt(share))
            .clip(lower_bound=0)
            .alias("lower"),
            (expected + (pl.col("upper") - pl.col("expected")) * math.sqrt(share)).alias("upper"),
            "peak_level",
        )
        .with_columns(
            (pl.col("actual") / pl.col("expected")).alias("ratio"),
            ((pl.col("actual") > factor * pl.col("upper")) & (pl.col("actual") >= min_count))
            .fill_null(False)
            .alias("flagged"),
        )
    )
    return _explained(joined, _per(bucket)).select(list(DEVIATION_SCHEMA)).cast(DEVIATION_SCHEMA)


def _per(bucket: timedelta) -> str:
    seconds = int(bucket.total_seconds())
    if seconds % 3600 == 0:
        return "/h" if seconds == 3600 else f"/{seconds // 3600}h"
    return f"/{seconds // 60}min" if seconds % 60 == 0 else f"/{seconds}s"


def _subject(key: str) -> str:
    store, sep, kind = key.partition("/")
    if not sep:
        return f"{key} volume"
    return f"store {store} {kind.replace('/', ' ')} {UNITS.get(kind, 'events')}"


def _explained(frame: pl.DataFrame, per: str) -> pl.DataFrame:
    """Explanations for flagged rows only (few), in the analyst's words."""
    flagged = frame.filter("flagged").select(KEY, TIME, "actual", "expected", "upper")
    texts = [
        f"{_subject(key)} {actual:,.0f}{per} vs {expected:,.0f} expected (upper {upper:,.0f})"
        for key, _, actual, expected, upper in flagged.iter_rows()
    ]
    notes = flagged.select(KEY, TIME).with_columns(pl.Series("explanation", texts, pl.String))
    return frame.join(notes, on=[KEY, TIME], how="left")
