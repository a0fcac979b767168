"""Estate context as columns: the season slot, open/closed and peak level of each row.

Detectors take no estate (hyperparameters are plain YAML values); a pipeline that
has the estate adds these columns to a batch before scoring:

- `slot`: hour of the week in the store's local time, 0 = Monday 00:00-00:59;
- `is_open`: whether the store was trading (opening hours, closures on the calendar);
- `peak_level`: 0 (normal) to 3 (highest peak) from the estate's and the store's peaks.

All of it vectorised: one expression per distinct time zone of the batch, and a
minute-of-week lookup table per store built once.
"""

from __future__ import annotations

from datetime import date, time

import numpy as np
import polars as pl

from vigil.estate.types import WEEKDAYS, Estate, Store

MINUTES_PER_WEEK = 7 * 24 * 60
SLOT = "slot"
IS_OPEN = "is_open"
PEAK_LEVEL = "peak_level"


def local_time(frame: pl.DataFrame, time_column: str, zones: pl.Series) -> pl.Expr:
    """An expression: each row's `time_column` as naive local time in its row's zone.

    `zones` holds an IANA name per row (nulls are UTC); one `convert_time_zone`
    per distinct zone, so the cost does not grow with the rows.
    """
    utc = pl.col(time_column).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    names = [name for name in zones.drop_nulls().unique().sort().to_list() if name != "UTC"]
    if not names:
        return utc
    zone = pl.lit(zones)
    branches = [
        pl.when(zone == name).then(
            pl.col(time_column).dt.convert_time_zone(name).dt.replace_time_zone(None)
        )
        for name in names
    ]
    return pl.coalesce([*branches, utc])


def slot_of(local: pl.Expr) -> pl.Expr:
    """Hour of the week, 0 = Monday 00h, from a naive local datetime expression."""
    weekday = local.dt.weekday().cast(pl.Int16) - 1
    return (weekday * 24 + local.dt.hour().cast(pl.Int16)).cast(pl.Int16)


def add_season_columns(
    frame: pl.DataFrame, estate: Estate, store_column: str = "store.uid", time_column: str = "time"
) -> pl.DataFrame:
    """The frame with `slot`, `is_open` and `peak_level` added (a new frame).

    Rows whose store is not in the estate get the UTC slot, a null `is_open` and
    peak level 0.
    """
    stores = {store.uid: store for store in estate.stores}
    uids = frame.get_column(store_column).cast(pl.String)
    zones = uids.replace_strict(
        {uid: store.timezone for uid, store in stores.items()}, default=None, return_dtype=pl.String
    )
    local = frame.select(local_time(frame, time_column, zones).alias("local")).get_column("local")
    minute_of_week = (
        (local.dt.weekday().cast(pl.Int64) - 1) * 1440
        + local.dt.hour().cast(pl.Int64) * 60
        + local.dt.minute().cast(pl.Int64)
    ).to_numpy()
    days = local.dt.date()

    known = [uid for uid in uids.drop_nulls().unique().sort().to_list() if uid in stores]
    index = {uid: position for position, uid in enumerate(known)}
    store_index = uids.replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
    masks = np.zeros((len(known) + 1, 2, MINUTES_PER_WEEK), dtype=bool)
    for uid, position in index.items():
        masks[position] = _open_minutes(stores[uid])

    closed_today, closed_yesterday, peak = _calendar(estate, stores, uids, days)
    found = store_index >= 0
    same_day = masks[store_index, 0, minute_of_week] & ~closed_today
    overnight = masks[store_index, 1, minute_of_week] & ~closed_yesterday
    is_open = pl.Series(IS_OPEN, same_day | overnight, dtype=pl.Boolean)
    is_open = pl.select(pl.when(pl.lit(found)).then(pl.lit(is_open))).to_series().alias(IS_OPEN)
    return frame.with_columns(
        slot_of(pl.lit(local)).alias(SLOT),
        is_open,
        pl.Series(PEAK_LEVEL, peak, dtype=pl.Int8),
    )


def _open_minutes(store: Store) -> np.ndarray:
    """(2, minutes of the week): open by a span that started that day, or the day before."""
    mask = np.zeros((2, MINUTES_PER_WEEK), dtype=bool)
    for day, name in enumerate(WEEKDAYS):
        text = store.opening_hours.get(name, "closed")
        if text == "closed":
            continue
        for span in text.split(","):
            start_text, _, end_text = span.strip().partition("-")
            start = _minutes(time.fromisoformat(start_text.strip()))
            end = _minutes(time.fromisoformat(end_text.strip()))
            base = day * 1440
            if end > start:
                mask[0, base + start : base + end] = True
            else:  # closes after midnight: the tail belongs to the next day's minutes
                mask[0, base + start : base + 1440] = True
                following = ((day + 1) % 7) * 1440
                mask[1, following : following + end] = True
    return mask


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute


def _calendar(
    estate: Estate, stores: dict[str, Store], uids: pl.Series, days: pl.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: closed today, closed yesterday (for overnight spans), peak level today.

    One calendar look-up per distinct (store, local day) of the batch.
    """
    pairs = pl.DataFrame({"uid": uids, "day": days})
    distinct = pairs.unique().drop_nulls()
    rows: list[tuple[str, date, bool, bool, int]] = []
    for uid, day in distinct.iter_rows():
        store = stores.get(uid)
        if store is None:
            continue
        today = estate.peak_on(store, day)
        yesterday = estate.peak_on(store, date.fromordinal(day.toordinal() - 1))
        rows.append(
            (
                uid,
                day,
                bool(today and today.closed),
                bool(yesterday and yesterday.closed),
                today.level if today is not None and not today.closed else 0,
            )
        )
    table = pl.DataFrame(
        rows,
        schema={
            "uid": pl.String,
            "day": pl.Date,
            "closed_today": pl.Boolean,
            "closed_yesterday": pl.Boolean,
            "peak": pl.Int64,
        },
        orient="row",
    )
    joined = pairs.with_row_index(ROW_INDEX).join(table, on=["uid", "day"], how="left")
    joined = joined.sort(ROW_INDEX)
    return (
        joined.get_column("closed_today").fill_null(False).to_numpy(),
        joined.get_column("closed_yesterday").fill_null(False).to_numpy(),
        joined.get_column("peak").fill_null(0).to_numpy(),
    )


ROW_INDEX = "__vigil_row"
