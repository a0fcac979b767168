"""Counts per key and time bucket: checking them, and making them from event frames."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import polars as pl

from vigil.detect.forecast.types import KEY, VALUE, ForecastError
from vigil.detect.types import TIME

UNKNOWN = "unknown"
"""Key part used for events whose key column is null, so their volume still shows."""


def check_bucket(bucket: timedelta) -> timedelta:
    """A bucket is a whole number of seconds that divides a day (5 min, 1 h, ...)."""
    seconds = bucket.total_seconds()
    if seconds <= 0 or seconds != int(seconds) or 86_400 % int(seconds):
        raise ForecastError(f"bucket {bucket} must be whole seconds that divide a day")
    return bucket


def check_utc(frame: pl.DataFrame, what: str) -> None:
    dtype = frame.schema.get(TIME)
    if dtype is None:
        raise ForecastError(f"{what}: no {TIME!r} column")
    if not isinstance(dtype, pl.Datetime):
        raise ForecastError(f"{what}: {TIME!r} must be a Datetime in UTC, got {dtype}")
    if dtype.time_zone != "UTC":
        zone = dtype.time_zone or "no time zone (naive)"
        raise ForecastError(
            f"{what}: {TIME!r} must be UTC, got {zone}; convert with "
            ".dt.convert_time_zone('UTC') (or .dt.replace_time_zone('UTC') if it is UTC already)"
        )


def check_counts(frame: pl.DataFrame, what: str = "counts") -> pl.DataFrame:
    """The frame's `key`, `time` and `value` columns, checked; raises `ForecastError`."""
    missing = [name for name in (KEY, TIME, VALUE) if name not in frame.columns]
    if missing:
        raise ForecastError(f"{what}: missing columns {missing} (needs key, time, value)")
    check_utc(frame, what)
    if frame.schema[KEY] != pl.String:
        raise ForecastError(f"{what}: {KEY!r} must be a string, got {frame.schema[KEY]}")
    if not frame.schema[VALUE].is_numeric():
        raise ForecastError(f"{what}: {VALUE!r} must be numeric, got {frame.schema[VALUE]}")
    frame = frame.select(KEY, pl.col(TIME).dt.cast_time_unit("ms"), pl.col(VALUE).cast(pl.Float64))
    nulls = {
        name: count
        for name, count in zip(frame.columns, frame.null_count().row(0), strict=True)
        if count
    }
    if nulls:
        raise ForecastError(f"{what}: null values {nulls}")
    bad = frame.filter((pl.col(VALUE) < 0) | ~pl.col(VALUE).is_finite())
    if bad.height:
        key, time, value = bad.row(0)
        raise ForecastError(
            f"{what}: {bad.height} negative or non-finite values "
            f"(first: {key} at {time:%Y-%m-%d %H:%M} UTC = {value})"
        )
    return frame


def to_buckets(frame: pl.DataFrame, bucket: timedelta) -> pl.DataFrame:
    """Checked counts summed per key and bucket start (finer counts add up), sorted."""
    return (
        frame.with_columns(pl.col(TIME).dt.truncate(bucket))
        .group_by(KEY, TIME)
        .agg(pl.col(VALUE).sum())
        .sort(KEY, TIME)
    )


def traffic_counts(
    frame: pl.DataFrame,
    key_cols: Sequence[str],
    bucket: timedelta = timedelta(hours=1),
    *,
    kind: str | None = None,
    value_col: str | None = None,
) -> pl.DataFrame:
    """Events per key and bucket, as the forecaster takes them: `key`, `time`, `value`.

    `key` joins the key columns with `/` and appends `kind` (`031/web`). Rows count
    one each, or add up `value_col` (e.g. `traffic.bytes_in`). Empty buckets are
    not written: the forecaster reads a missing bucket as 0.

    >>> traffic_counts(web_events, ["store.uid"], timedelta(minutes=5), kind="web")
    """
    check_bucket(bucket)
    check_utc(frame, "events")
    needed = [*key_cols, *([value_col] if value_col else [])]
    missing = [name for name in needed if name not in frame.columns]
    if not key_cols or missing:
        raise ForecastError(f"events: missing key or value columns {missing or 'key_cols'}")
    parts = [pl.col(name).cast(pl.String).fill_null(UNKNOWN) for name in key_cols]
    if kind:
        parts.append(pl.lit(kind))
    value = pl.col(value_col).fill_null(0).cast(pl.Float64) if value_col else pl.lit(1.0)
    events = frame.select(
        pl.concat_str(parts, separator="/").alias(KEY),
        pl.col(TIME).dt.cast_time_unit("ms"),
        value.alias(VALUE),
    ).filter(pl.col(TIME).is_not_null())
    return (
        events.sort(KEY, TIME)
        .group_by_dynamic(TIME, every=bucket, group_by=KEY, closed="left", label="left")
        .agg(pl.col(VALUE).sum())
        .select(KEY, TIME, VALUE)
        .sort(KEY, TIME)
    )
