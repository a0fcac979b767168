"""The peak calendar as columns: peak level and closure of each key's bucket.

Peaks are local calendar days in the store's time zone, so each bucket is
turned into its store's local date before it meets the calendar. A key whose
first part is not a store of the estate (an estate-wide site such as the web
shop) follows the estate-wide peaks in the site time zone.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from vigil.detect.forecast.types import KEY
from vigil.detect.types import TIME
from vigil.estate.types import Estate, Peak

SITE = "*"
"""Calendar entity of keys that are not a store: the estate-wide peaks."""


def key_store(key: pl.Expr) -> pl.Expr:
    """The store part of a key (`031/web` -> `031`)."""
    return key.str.split("/").list.first()


def _days(peak: Peak) -> list[date]:
    return [peak.start + timedelta(days=n) for n in range((peak.last_day - peak.start).days + 1)]


def _site_peak(estate: Estate, day: date) -> Peak | None:
    found = [peak for peak in estate.peaks if peak.start <= day <= peak.last_day]
    return max(found, key=lambda peak: (peak.closed, peak.level)) if found else None


def peak_days(estate: Estate, entities: set[str]) -> pl.DataFrame:
    """One row per calendar entity (store uid or `*`) and local day with a peak on it."""
    rows: list[tuple[str, date, int, bool, str]] = []
    stores = {store.uid: store for store in estate.stores}
    for entity in sorted(entities):
        store = stores.get(entity)
        own = store.peaks if store is not None else []
        for day in sorted({day for peak in (*estate.peaks, *own) for day in _days(peak)}):
            peak = estate.peak_on(store, day) if store is not None else _site_peak(estate, day)
            if peak is not None:
                rows.append((entity, day, peak.level, peak.closed, peak.name))
    return pl.DataFrame(
        rows,
        schema={
            "entity": pl.String,
            "local_date": pl.Date,
            "peak_level": pl.Int8,
            "closed": pl.Boolean,
            "peak": pl.String,
        },
        orient="row",
    )


def with_peaks(frame: pl.DataFrame, estate: Estate, site_timezone: str) -> pl.DataFrame:
    """`frame` (with `key` and UTC `time`) plus `peak_level`, `closed` and `peak` columns.

    Vectorised: one time-zone conversion per distinct zone, one join with the calendar.
    """
    zones = {store.uid: store.timezone for store in estate.stores}
    framed = frame.with_columns(key_store(pl.col(KEY)).alias("entity"))
    framed = framed.with_columns(
        pl.when(pl.col("entity").is_in(list(zones))).then("entity").otherwise(pl.lit(SITE))
    )
    framed = framed.with_columns(
        pl.col("entity").replace_strict(zones, default=site_timezone).alias("zone")
    )
    parts = [
        part.with_columns(
            pl.col(TIME).dt.convert_time_zone(str(zone)).dt.date().alias("local_date")
        )
        for (zone,), part in framed.partition_by("zone", as_dict=True, maintain_order=True).items()
    ]
    if not parts:
        return frame.with_columns(
            pl.lit(0, pl.Int8).alias("peak_level"),
            pl.lit(False).alias("closed"),
            pl.lit(None, pl.String).alias("peak"),
        )
    local = pl.concat(parts)
    calendar = peak_days(estate, set(local["entity"].unique().to_list()))
    return (
        local.join(calendar, on=["entity", "local_date"], how="left")
        .with_columns(pl.col("peak_level").fill_null(0), pl.col("closed").fill_null(False))
        .drop("entity", "zone", "local_date")
    )
