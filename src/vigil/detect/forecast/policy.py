"""`policy_level`: how alert a store's policies should be, ahead of a peak or a surge.

Peaks are local calendar days: a peak on 27 November starts at local midnight
in the store's time zone, so for a store in Los Angeles Black Friday starts at
08:00 UTC. All instants are compared in UTC, so the nights the clocks change
are right.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import polars as pl

from vigil.detect.forecast.calendar import key_store
from vigil.detect.forecast.types import KEY, Forecast, ForecastError, PolicyLevel
from vigil.detect.types import TIME
from vigil.estate.errors import UnknownStoreError
from vigil.estate.types import Estate, Peak, Store

SURGE_RATIOS = (1.5, 2.0, 3.0)
"""Forecast volume over normal that raises the level to 1, 2 and 3."""


def policy_level(
    estate: Estate,
    store_uid: str,
    at: datetime,
    horizon: timedelta = timedelta(hours=48),
    *,
    forecast: Forecast | None = None,
    surge_ratios: tuple[float, float, float] = SURGE_RATIOS,
) -> PolicyLevel:
    """The store's level at `at`, looking `horizon` ahead.

    The level is the highest of: the peak on the store's local day now; a peak
    starting within the horizon ("Black Friday starts in 31 h"); and, given a
    forecast, how far the forecast volume of the store's keys over the horizon
    is above their normal volume (`surge_ratios`). On a tie the calendar wins.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ForecastError("policy_level needs an aware datetime")
    if horizon < timedelta(0):
        raise ForecastError("horizon must not be negative")
    try:
        store = estate.store(store_uid)
    except UnknownStoreError as error:
        raise ForecastError(str(error)) from error
    now = at.astimezone(UTC)
    best = _calendar_level(estate, store, now, horizon)
    if forecast is not None:
        surge = _surge_level(forecast, store_uid, now, horizon, surge_ratios)
        if surge.level > best.level:
            best = surge
    return best


def _midnight(store: Store, day: date) -> datetime:
    return datetime.combine(day, time(0), store.tz).astimezone(UTC)


def _calendar_level(estate: Estate, store: Store, now: datetime, horizon: timedelta) -> PolicyLevel:
    today = store.local(now).date()
    last = store.local(now + horizon).date()
    best = PolicyLevel(0, f"no peak within {_hours(horizon)}")
    day = today
    while day <= last:
        peak = estate.peak_on(store, day)
        if peak is not None and peak.level > best.level:
            best = _peak_level(store, peak, day, today, now)
        day += timedelta(days=1)
    return best


def _peak_level(store: Store, peak: Peak, day: date, today: date, now: datetime) -> PolicyLevel:
    if day == today:
        starts = _midnight(store, peak.start)
        until = f" until {peak.last_day:%d %b}" if peak.last_day != peak.start else ""
        return PolicyLevel(
            peak.level, f"{peak.name} is on (level {peak.level}){until}", peak.name, starts
        )
    starts = _midnight(store, day)
    return PolicyLevel(
        peak.level, f"{peak.name} starts in {_hours(starts - now)}", peak.name, starts
    )


def _surge_level(
    forecast: Forecast,
    store_uid: str,
    now: datetime,
    horizon: timedelta,
    ratios: tuple[float, float, float],
) -> PolicyLevel:
    coming = forecast.frame.filter(
        (key_store(pl.col(KEY)) == store_uid)
        & (pl.col(TIME) + forecast.bucket > now)
        & (pl.col(TIME) < now + horizon)
    )
    totals = (
        coming.group_by(KEY)
        .agg(pl.col("expected").sum(), pl.col("normal").sum(), pl.col(TIME).min().alias("first"))
        .filter(pl.col("normal") > 0)
        .with_columns((pl.col("expected") / pl.col("normal")).alias("ratio"))
        .sort("ratio", KEY, descending=[True, False])
    )
    if not totals.height:
        return PolicyLevel(0, "no forecast for the store")
    key, ratio, first = totals.select(KEY, "ratio", "first").row(0)
    level = sum(ratio >= threshold for threshold in ratios)
    reason = f"forecast {key} volume {ratio:.1f}x normal over the next {_hours(horizon)}"
    return PolicyLevel(level, reason, None, first if level else None)


def _hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h"
