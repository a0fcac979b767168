"""Reading the event lake for the console: bound parameters, errors the API can answer.

Identifiers in the SQL passed here come from the event model (class and
column names), never from a request; values are always bound parameters.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import logging
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import duckdb
import pyarrow as pa

from vigil.console.errors import BadRequestError
from vigil.events import EVENT_CLASSES, short_name
from vigil.events.columns import arrow_schema
from vigil.store.errors import StoreError
from vigil.store.lake import Lake

logger = logging.getLogger(__name__)

CLASS_COLUMNS: dict[str, frozenset[str]] = {
    short_name(cls): frozenset(arrow_schema(cls).names) for cls in EVENT_CLASSES
}
"""Each event class's lake view name and its columns: the identifiers requests may name."""


@contextmanager
def opened(lake: Lake) -> Iterator[duckdb.DuckDBPyConnection]:
    """One lake connection (its views cost a file listing) for several queries."""
    try:
        connection = lake.connect()
    except (duckdb.Error, StoreError) as error:
        raise BadRequestError(f"cannot open the event lake: {error}") from error
    try:
        yield connection
    finally:
        connection.close()


class SharedLake:
    """One lake connection for the app's life, so a request does not pay for opening one
    (listing every class's files and binding its view, most of an incident page's time).

    Each reader gets a cursor of its own: DuckDB cursors are connections to the same
    database, with its sandbox settings, safe to use from different threads. The views
    are those of the first opening; readers that must see classes that gained their
    first files since (hunting) keep opening their own.
    """

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._lock:
            if self._connection is None:
                try:
                    self._connection = self.lake.connect()
                except (duckdb.Error, StoreError) as error:
                    raise BadRequestError(f"cannot open the event lake: {error}") from error
            cursor = self._connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def query(
    connection: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()
) -> pa.Table:
    """Run one query of ours over the lake's views, with bound parameters."""
    try:
        return connection.sql(sql, params=list(params)).to_arrow_table()
    except duckdb.Error as error:
        logger.warning("lake query failed: %s", error)
        raise BadRequestError(f"the lake query failed: {str(error).splitlines()[0]}") from error


def read(lake: Lake, sql: str, params: Sequence[object] = ()) -> pa.Table:
    """One query on a connection of its own."""
    with opened(lake) as connection:
        return query(connection, sql, params)


_CONVERT: tuple[tuple[type | tuple[type, ...], Callable[[Any], object]], ...] = (
    ((dt.datetime, dt.date, dt.time), lambda v: v.isoformat()),
    (dt.timedelta, lambda v: v.total_seconds()),
    (decimal.Decimal, float),
    (bytes, lambda v: base64.b64encode(v).decode()),
    (dict, lambda v: {str(k): jsonable(item) for k, item in v.items()}),
    ((list, tuple), lambda v: [jsonable(item) for item in v]),
)


def jsonable(value: object) -> object:
    """A lake value as JSON can carry it: times as ISO text, decimals as floats, bytes as base64."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    for kinds, convert in _CONVERT:
        if isinstance(value, kinds):
            return convert(value)
    return str(value)
