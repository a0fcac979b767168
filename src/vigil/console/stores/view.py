"""One store's day from the lake: footfall and queues and a heat map from video analytics,
door and video events while it was closed, and POS exceptions by cashier.

The window defaults to the 24 hours before the store's newest physical or POS
event, so a store view shows its last day of data even when it went quiet.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta

import duckdb

from vigil.console.lakeread import opened, query
from vigil.console.state import Console
from vigil.console.stores.types import (
    CashierExceptions,
    Footfall,
    HeatMap,
    PhysicalEvent,
    Queue,
    StoreView,
)
from vigil.correlate.codec import utc
from vigil.correlate.timeline import summarise
from vigil.estate import Estate

WINDOW = timedelta(hours=24)
ROWS = 500
GRID_COLUMNS, GRID_ROWS = 16, 12
# Parameters of every query below: store uid, window start, window end.
# activity_id: video 4 line crossing, 5 queue length; POS 2 refund, 3 void, 4 post void, 5 no sale.
NEWEST = (
    'SELECT max(t) FROM (SELECT max(time) AS t FROM video_observation WHERE "store.uid" = ? '
    'UNION ALL SELECT max(time) FROM door_access WHERE "store.uid" = ? '
    'UNION ALL SELECT max(time) FROM pos_transaction WHERE "store.uid" = ?)'
)
FOOTFALL = (
    "SELECT date_trunc('hour', time) AS t, "
    "sum(coalesce(count, 1)) FILTER (WHERE direction = 'in') AS entered, "
    "sum(coalesce(count, 1)) FILTER (WHERE direction = 'out') AS left_ "
    'FROM video_observation WHERE "store.uid" = ? AND time >= ? AND time < ? '
    "AND activity_id = 4 GROUP BY 1 ORDER BY 1"
)
QUEUES = (
    'SELECT time, "camera.uid" AS camera, coalesce(count, 0) AS length, dwell_seconds '
    'FROM video_observation WHERE "store.uid" = ? AND time >= ? AND time < ? '
    "AND activity_id = 5 ORDER BY time LIMIT 500"
)
BOXES = (
    'SELECT "camera.uid" AS camera, "bbox.x" AS x, "bbox.y" AS y, "bbox.width" AS w, '
    '"bbox.height" AS h FROM video_observation WHERE "store.uid" = ? AND time >= ? AND time < ? '
    'AND "bbox.x" IS NOT NULL AND "camera.uid" IS NOT NULL LIMIT 50000'
)
PHYSICAL = {
    name: f'SELECT * EXCLUDE (day, store) FROM "{name}" '  # noqa: S608 - fixed class names
    'WHERE "store.uid" = ? AND time >= ? AND time < ? ORDER BY time LIMIT 500'
    for name in ("door_access", "video_observation")
}
CASHIERS = (
    'SELECT coalesce("cashier.name", "cashier.uid") AS cashier, '
    "count(*) FILTER (WHERE activity_id IN (3, 4)) "
    '+ coalesce(sum("transaction.void_count"), 0) AS n_voids, '
    "count(*) FILTER (WHERE activity_id = 2) AS n_refunds, "
    "count(*) FILTER (WHERE activity_id = 5) AS n_no_sales, "
    "count(*) FILTER (WHERE len(discounts) > 0) AS n_discounts "
    'FROM pos_transaction WHERE "store.uid" = ? AND time >= ? AND time < ? '
    'AND coalesce("cashier.name", "cashier.uid") IS NOT NULL '
    "GROUP BY 1 ORDER BY n_voids + n_refunds + n_no_sales + n_discounts DESC, cashier LIMIT 100"
)


def window(
    connection: duckdb.DuckDBPyConnection,
    console: Console,
    store: str,
    since: datetime | None,
    until: datetime | None,
) -> tuple[datetime, datetime]:
    """The window asked for; by default the day before the store's newest event."""
    if until is None:
        table = query(connection, NEWEST, [store, store, store])
        newest = table.column(0)[0].as_py()
        until = utc(newest) + timedelta(seconds=1) if newest is not None else console.now()
    return (since or until - WINDOW), until


def store_view(
    console: Console, store: str, since: datetime | None = None, until: datetime | None = None
) -> StoreView:
    with opened(console.lake) as connection:
        start, end = window(
            connection,
            console,
            store,
            None if since is None else utc(since),
            None if until is None else utc(until),
        )
        args: list[object] = [store, start, end]
        return StoreView(
            uid=store,
            since=start,
            until=end,
            footfall=_footfall(connection, args),
            queues=_queues(connection, args),
            heatmap=_heatmap(connection, args),
            after_hours=_after_hours(connection, console, store, args),
            pos_exceptions=_pos_exceptions(connection, args),
        )


def _footfall(connection: duckdb.DuckDBPyConnection, args: list[object]) -> tuple[Footfall, ...]:
    table = query(connection, FOOTFALL, args)
    return tuple(
        Footfall(utc(row["t"]), int(row["entered"] or 0), int(row["left_"] or 0))
        for row in table.to_pylist()
    )


def _queues(connection: duckdb.DuckDBPyConnection, args: list[object]) -> tuple[Queue, ...]:
    table = query(connection, QUEUES, args)
    return tuple(
        Queue(utc(row["time"]), str(row["camera"] or ""), int(row["length"]), row["dwell_seconds"])
        for row in table.to_pylist()
    )


def _heatmap(connection: duckdb.DuckDBPyConnection, args: list[object]) -> HeatMap | None:
    """Where people stood (box bottom centres) on the camera with the most sightings."""
    table = query(connection, BOXES, args)
    rows = table.to_pylist()
    if not rows:
        return None
    camera = Counter(str(row["camera"]) for row in rows).most_common(1)[0][0]
    boxes = [row for row in rows if row["camera"] == camera]
    width = max(1, math.ceil(max(r["x"] + (r["w"] or 0) for r in boxes)))
    height = max(1, math.ceil(max(r["y"] + (r["h"] or 0) for r in boxes)))
    grid = [[0] * GRID_COLUMNS for _ in range(GRID_ROWS)]
    for r in boxes:
        anchor_x, anchor_y = r["x"] + (r["w"] or 0) / 2, r["y"] + (r["h"] or 0)
        column = min(GRID_COLUMNS - 1, int(anchor_x / width * GRID_COLUMNS))
        line = min(GRID_ROWS - 1, int(anchor_y / height * GRID_ROWS))
        grid[line][column] += 1
    return HeatMap(camera, width, height, tuple(tuple(line) for line in grid))


def _after_hours(
    connection: duckdb.DuckDBPyConnection, console: Console, store: str, args: list[object]
) -> tuple[PhysicalEvent, ...]:
    estate = console.estate
    if estate is None or not any(s.uid == store for s in estate.stores):
        return ()
    found = []
    for name in ("door_access", "video_observation"):
        table = query(connection, PHYSICAL[name], args)
        found += [
            PhysicalEvent(utc(row["time"]), name, summarise(row))
            for row in table.to_pylist()
            if _closed(estate, store, row["time"])
        ]
    return tuple(sorted(found, key=lambda event: event.time)[:ROWS])


def _closed(estate: Estate, store: str, moment: object) -> bool:
    return isinstance(moment, datetime) and not estate.is_open(estate.store(store), utc(moment))


def _pos_exceptions(
    connection: duckdb.DuckDBPyConnection, args: list[object]
) -> tuple[CashierExceptions, ...]:
    table = query(connection, CASHIERS, args)
    return tuple(
        CashierExceptions(
            str(row["cashier"]),
            int(row["n_voids"]),
            int(row["n_refunds"]),
            int(row["n_no_sales"]),
            int(row["n_discounts"]),
        )
        for row in table.to_pylist()
    )
