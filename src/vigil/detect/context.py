"""Business context as columns, so rules can say "while the store is closed" in a `where`.

The engine adds, to every batch, from the estate and the event's `store.uid`:

- `ctx.open`: the store is trading at the event's time (opening hours in its
  time zone, calendar closures count); null when the store is unknown;
- `ctx.local_hour`: hour of day in the store's time zone (0-23);
- `ctx.peak`: the peak level of the store's local calendar day (0 normal to 3).

Trading intervals are worked out once per store and local day (a few per batch,
not one per event) and matched to events with an as-of join.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from vigil.detect.types import TIME
from vigil.estate import Estate, Store

STORE = "store.uid"
OPEN = "ctx.open"
LOCAL_HOUR = "ctx.local_hour"
PEAK = "ctx.peak"
CARD = "ctx.card"
KEYED_ITEMS = "ctx.keyed_items"
CONTEXT_COLUMNS = (OPEN, LOCAL_HOUR, PEAK, CARD, KEYED_ITEMS)
POS_COLUMNS = {CARD: pl.String(), KEYED_ITEMS: pl.Int64()}
"""Derived from a POS transaction's lists, so rules can key on them: the first card
tender as `bin******last4` (the masked form ingest keeps), and the number of line
items keyed in by hand rather than scanned."""


def pos_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """`ctx.card` and `ctx.keyed_items` of POS transactions (vectorised list operations)."""
    if "tenders" not in frame.columns or "line_items" not in frame.columns:
        return frame
    card = (
        pl.col("tenders")
        .list.eval(
            pl.element().struct.field("card").struct.field("bin")
            + pl.lit("******")
            + pl.element().struct.field("card").struct.field("last4")
        )
        .list.drop_nulls()
        .list.first()
    )
    keyed = (
        pl.col("line_items")
        .list.eval(pl.element().struct.field("entry_method") == "keyed")
        .list.sum()
        .fill_null(0)
        .cast(pl.Int64)
    )
    return frame.with_columns(card.alias(CARD), keyed.alias(KEYED_ITEMS))


class Context:
    """Adds the context columns to frames; caches trading intervals per store and day."""

    def __init__(self, estate: Estate | None) -> None:
        self.estate = estate
        self._stores: dict[str, Store] = (
            {store.uid: store for store in estate.stores} if estate is not None else {}
        )
        self._days: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
        self._peaks: dict[tuple[str, date], int] = {}

    def add(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame with `ctx.*` columns (null where the store is unknown)."""
        return self._hours(pos_columns(frame))

    def _hours(self, frame: pl.DataFrame) -> pl.DataFrame:
        if frame.is_empty() or STORE not in frame.columns or not self._stores:
            return frame.with_columns(
                pl.lit(None, pl.Boolean).alias(OPEN),
                pl.lit(None, pl.Int8).alias(LOCAL_HOUR),
                pl.lit(0, pl.Int8).alias(PEAK),
            )
        stores = [s for s in frame.get_column(STORE).unique().to_list() if s in self._stores]
        span = frame.select(pl.col(TIME).min().alias("lo"), pl.col(TIME).max().alias("hi")).row(0)
        lo, hi = (_aware(span[0]), _aware(span[1]))
        intervals: list[tuple[str, datetime, datetime]] = []
        hours: list[tuple[str, datetime, datetime, int, float]] = []
        for uid in stores:
            store = self._stores[uid]
            first = store.local(lo).date() - timedelta(days=1)
            last = store.local(hi).date()
            for offset in range((last - first).days + 1):
                day = first + timedelta(days=offset)
                peak = self._peak(store, day)
                start = datetime.combine(day, datetime.min.time(), store.tz).astimezone(UTC)
                end = datetime.combine(
                    day + timedelta(days=1), datetime.min.time(), store.tz
                ).astimezone(UTC)
                hours.append((uid, start, end, peak, _offset_hours(store, start)))
                intervals.extend((uid, a, b) for a, b in self._trading(store, day))
        indexed = frame.with_row_index("_ctx_row")
        opened = _as_of(indexed, intervals, ["_open_start", "_open_end"])
        days = _as_of(
            indexed,
            [(uid, start, end) for uid, start, end, _, _ in hours],
            ["_day_start", "_day_end"],
        )
        extra = pl.DataFrame(
            {
                "_day_start": [h[1] for h in hours],
                STORE: [h[0] for h in hours],
                "_peak": [h[3] for h in hours],
                "_offset": [h[4] for h in hours],
            },
            schema={
                "_day_start": pl.Datetime("ms", "UTC"),
                STORE: pl.String,
                "_peak": pl.Int8,
                "_offset": pl.Float64,
            },
        )
        days = days.join(extra, on=[STORE, "_day_start"], how="left")
        known = pl.col(STORE).is_in(stores)
        columns = (
            indexed.select("_ctx_row", STORE, TIME)
            .join(opened.select("_ctx_row", "_open_end"), on="_ctx_row", how="left")
            .join(days.select("_ctx_row", "_peak", "_offset"), on="_ctx_row", how="left")
            .sort("_ctx_row")
            .select(
                pl.when(known)
                .then(pl.col("_open_end").is_not_null() & (pl.col(TIME) < pl.col("_open_end")))
                .alias(OPEN),
                pl.when(known)
                .then(
                    ((pl.col(TIME).dt.epoch("s") / 3600 + pl.col("_offset")).floor() % 24).cast(
                        pl.Int8
                    )
                )
                .alias(LOCAL_HOUR),
                pl.col("_peak").fill_null(0).alias(PEAK),
            )
        )
        return frame.with_columns(columns)

    def _trading(self, store: Store, day: date) -> list[tuple[datetime, datetime]]:
        key = (store.uid, day)
        if key not in self._days:
            spans = []
            peak = self.estate.peak_on(store, day) if self.estate is not None else None
            if peak is None or not peak.closed:
                for start, end in store.hours_on(day):
                    opened = datetime.combine(day, start, store.tz)
                    closed = datetime.combine(day + timedelta(days=end <= start), end, store.tz)
                    spans.append((opened.astimezone(UTC), closed.astimezone(UTC)))
            self._days[key] = spans
        return self._days[key]

    def _peak(self, store: Store, day: date) -> int:
        key = (store.uid, day)
        if key not in self._peaks:
            peak = self.estate.peak_on(store, day) if self.estate is not None else None
            self._peaks[key] = 0 if peak is None or peak.closed else peak.level
        return self._peaks[key]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _offset_hours(store: Store, moment: datetime) -> float:
    offset = store.local(moment).utcoffset()
    return 0.0 if offset is None else offset.total_seconds() / 3600


def _as_of(
    frame: pl.DataFrame, spans: list[tuple[str, datetime, datetime]], names: list[str]
) -> pl.DataFrame:
    """Each row with the latest span (per store) that starts at or before its time."""
    table = pl.DataFrame(
        {
            STORE: [s[0] for s in spans],
            names[0]: [s[1] for s in spans],
            names[1]: [s[2] for s in spans],
        },
        schema={
            STORE: pl.String,
            names[0]: pl.Datetime("ms", "UTC"),
            names[1]: pl.Datetime("ms", "UTC"),
        },
    ).sort(names[0])
    rows = frame.select("_ctx_row", STORE, pl.col(TIME).cast(pl.Datetime("ms", "UTC"))).sort(TIME)
    return rows.join_asof(
        table,
        left_on=TIME,
        right_on=names[0],
        by=STORE,
        strategy="backward",
        check_sortedness=False,
    )
