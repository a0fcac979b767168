"""Business context as columns, so rules can say "while the store is closed" in a `where`.

The engine adds, to every batch, from the estate and the event's `store.uid`:

- `ctx.open`: the store is trading at the event's time (opening hours in its
  time zone, calendar closures count); null when the store is unknown;
- `ctx.local_hour`: hour of day in the store's time zone (0-23);
- `ctx.peak`: the peak level of the store's local calendar day (0 normal to 3);
- `ctx.closed_minutes`: while the store is closed, minutes to the nearest edge of
  its trading hours (since closing or until opening); 0 while it trades. Staff
  arrive and leave minutes either side of trading; an hour out is another matter.

Trading intervals are worked out once per store and local day (a few per batch,
not one per event) and matched to events with an as-of join.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta

import polars as pl

from vigil.detect.types import TIME
from vigil.estate import Estate, Store

STORE = "store.uid"
OPEN = "ctx.open"
LOCAL_HOUR = "ctx.local_hour"
PEAK = "ctx.peak"
CLOSED_MINUTES = "ctx.closed_minutes"
CARD = "ctx.card"
KEYED_ITEMS = "ctx.keyed_items"
CONTEXT_COLUMNS = (OPEN, LOCAL_HOUR, PEAK, CLOSED_MINUTES, CARD, KEYED_ITEMS)
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
    """Adds the context columns to frames; caches trading intervals per store and day.

    The interval tables of a set of stores over a span of days are built once
    and reused by every batch that falls in it (a stream's batches do), so a
    batch costs two as-of joins on its (store, time) columns.
    """

    def __init__(self, estate: Estate | None) -> None:
        self.estate = estate
        self._stores: dict[str, Store] = (
            {store.uid: store for store in estate.stores} if estate is not None else {}
        )
        self._days: dict[tuple[str, date], list[tuple[datetime, datetime]]] = {}
        self._peaks: dict[tuple[str, date], int] = {}
        self._tables: dict[
            tuple[tuple[str, ...], date, date], tuple[pl.DataFrame, pl.DataFrame]
        ] = {}

    def add(self, frame: pl.DataFrame, columns: Collection[str] | None = None) -> pl.DataFrame:
        """The frame with `ctx.*` columns (null where the store is unknown).

        `columns`: only these context columns are wanted (None: all of them).
        """
        wanted = set(CONTEXT_COLUMNS if columns is None else columns)
        if wanted & {CARD, KEYED_ITEMS}:
            frame = pos_columns(frame)
        if wanted & {OPEN, LOCAL_HOUR, PEAK, CLOSED_MINUTES}:
            frame = self._hours(frame, closed=CLOSED_MINUTES in wanted)
        return frame

    def _hours(self, frame: pl.DataFrame, closed: bool = False) -> pl.DataFrame:
        if frame.is_empty() or STORE not in frame.columns or not self._stores:
            return frame.with_columns(
                pl.lit(None, pl.Boolean).alias(OPEN),
                pl.lit(None, pl.Int8).alias(LOCAL_HOUR),
                pl.lit(0, pl.Int8).alias(PEAK),
                *([pl.lit(None, pl.Float64).alias(CLOSED_MINUTES)] if closed else []),
            )
        stores = tuple(
            sorted(s for s in frame.get_column(STORE).unique().to_list() if s in self._stores)
        )
        times = frame.get_column(TIME).cast(pl.Datetime("ms", "UTC"))
        lo, hi = _aware(times.min()), _aware(times.max())  # type: ignore[arg-type]
        opened, days = self._table(stores, lo.date(), hi.date())
        rows = pl.DataFrame([frame.get_column(STORE), times])
        ordered = times.is_sorted()
        if not ordered:
            rows = rows.with_row_index("_ctx_row").sort(TIME)
        joined = rows.join_asof(
            opened,
            left_on=TIME,
            right_on="_open_start",
            by=STORE,
            strategy="backward",
            check_sortedness=False,
        ).join_asof(
            days,
            left_on=TIME,
            right_on="_day_start",
            by=STORE,
            strategy="backward",
            check_sortedness=False,
        )
        if closed:
            joined = joined.join_asof(
                opened.select(STORE, pl.col("_open_start").alias("_next_start")),
                left_on=TIME,
                right_on="_next_start",
                by=STORE,
                strategy="forward",
                allow_exact_matches=False,
                check_sortedness=False,
            )
        if not ordered:
            joined = joined.sort("_ctx_row")
        known = pl.col(STORE).is_in(list(stores))
        columns = joined.select(
            pl.when(known)
            .then(pl.col("_open_end").is_not_null() & (pl.col(TIME) < pl.col("_open_end")))
            .alias(OPEN),
            pl.when(known)
            .then(
                ((pl.col(TIME).dt.epoch("s") / 3600 + pl.col("_offset")).floor() % 24).cast(pl.Int8)
            )
            .alias(LOCAL_HOUR),
            pl.col("_peak").fill_null(0).alias(PEAK),
            *([_closed_minutes(known)] if closed else []),
        )
        return frame.with_columns(columns)

    def _table(
        self, stores: tuple[str, ...], first_utc: date, last_utc: date
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Trading intervals and local days (with peak level and UTC offset) of the stores.

        Covers every local day of events on UTC days `first_utc`..`last_utc`, and the
        day before (a night's trading interval starts the day before).
        """
        key = (stores, first_utc, last_utc)
        if key in self._tables:
            return self._tables[key]
        lo = datetime.combine(first_utc, datetime.min.time(), UTC)
        hi = datetime.combine(last_utc + timedelta(days=1), datetime.min.time(), UTC)
        intervals: list[tuple[str, datetime, datetime]] = []
        hours: list[tuple[str, datetime, int, float]] = []
        for uid in stores:
            store = self._stores[uid]
            first = store.local(lo).date() - timedelta(days=1)
            last = store.local(hi).date()
            for offset in range((last - first).days + 1):
                day = first + timedelta(days=offset)
                start = datetime.combine(day, datetime.min.time(), store.tz).astimezone(UTC)
                hours.append((uid, start, self._peak(store, day), _offset_hours(store, start)))
                intervals.extend((uid, a, b) for a, b in self._trading(store, day))
        moment = pl.Datetime("ms", "UTC")
        opened = pl.DataFrame(
            {
                STORE: [s[0] for s in intervals],
                "_open_start": [s[1] for s in intervals],
                "_open_end": [s[2] for s in intervals],
            },
            schema={STORE: pl.String, "_open_start": moment, "_open_end": moment},
        ).sort("_open_start")
        days = pl.DataFrame(
            {
                STORE: [h[0] for h in hours],
                "_day_start": [h[1] for h in hours],
                "_peak": [h[2] for h in hours],
                "_offset": [h[3] for h in hours],
            },
            schema={
                STORE: pl.String,
                "_day_start": moment,
                "_peak": pl.Int8,
                "_offset": pl.Float64,
            },
        ).sort("_day_start")
        if len(self._tables) > 64:  # a long replay walks through days: keep the cache small
            self._tables.clear()
        self._tables[key] = (opened, days)
        return opened, days

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


def _closed_minutes(known: pl.Expr) -> pl.Expr:
    """Minutes to the nearest trading edge while closed (0 while open; null if unknown)."""
    since = (pl.col(TIME) - pl.col("_open_end")).dt.total_seconds() / 60
    until = (pl.col("_next_start") - pl.col(TIME)).dt.total_seconds() / 60
    trading = pl.col("_open_end").is_not_null() & (pl.col(TIME) < pl.col("_open_end"))
    return (
        pl.when(~known)
        .then(None)
        .when(trading)
        .then(0.0)
        .otherwise(pl.min_horizontal(since, until))
        .cast(pl.Float64)
        .alias(CLOSED_MINUTES)
    )
