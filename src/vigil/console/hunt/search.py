"""Event search: one class, column = value filters, a store and a time range, in scope only.

Column names are checked against the event model before they reach SQL;
values are bound parameters, so `'; DROP ...` is only text that matches
nothing. A text value with `*` matches any run of characters there.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from vigil.console.auth.types import Scope
from vigil.console.errors import InvalidInputError, NotFoundError
from vigil.console.hunt.types import Bin, FilterValue, Rows, Search, SearchResult
from vigil.console.lakeread import CLASS_COLUMNS, jsonable, opened, query
from vigil.correlate.codec import utc
from vigil.store.lake import Lake

MAX_LIMIT = 1000
BUCKETS = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)
"""Histogram bin widths (seconds); the smallest that gives at most MAX_BINS bins."""
MAX_BINS = 60
SKIP = frozenset({"day", "store"})


def _term(column: str, value: FilterValue) -> tuple[str, list[object]]:
    if value is None:
        return f'"{column}" IS NULL', []
    if isinstance(value, str) and "*" in value:
        pattern = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"CAST(\"{column}\" AS VARCHAR) ILIKE ? ESCAPE '\\'", [pattern.replace("*", "%")]
    return f'"{column}" = ?', [value]


def where_clause(search: Search, scope: Scope) -> tuple[str, list[object]]:
    """The WHERE of a search, with its parameters; refuses unknown classes and columns."""
    columns = CLASS_COLUMNS.get(search.event_class)
    if columns is None:
        raise InvalidInputError(
            f"unknown event class {search.event_class!r}; known: {', '.join(sorted(CLASS_COLUMNS))}"
        )
    terms, params = ["TRUE"], []
    for column, value in search.filters.items():
        if column not in columns:
            raise InvalidInputError(f"{search.event_class} has no column {column!r}")
        term, args = _term(column, value)
        terms.append(term)
        params += args
    if search.store is not None:
        if not scope.covers(search.store):
            raise NotFoundError(f"no store {search.store!r}")
        terms.append('"store.uid" = ?')
        params.append(search.store)
    elif not scope.everything:
        stores = sorted(scope.stores)
        terms.append(f'"store.uid" IN ({", ".join("?" * len(stores))})' if stores else "FALSE")
        params += stores
    if search.since is not None:
        terms.append("time >= ?")
        params.append(utc(search.since))
    if search.until is not None:
        terms.append("time < ?")
        params.append(utc(search.until))
    return " AND ".join(terms), params


def run(lake: Lake, search: Search, scope: Scope) -> SearchResult:
    where, params = where_clause(search, scope)
    view = f'"{search.event_class}"'  # a known class name, checked in where_clause
    limit = max(1, min(search.limit, MAX_LIMIT))
    with opened(lake) as connection:
        return _run(connection, view, where, params, limit)


def _run(
    connection: duckdb.DuckDBPyConnection,
    view: str,
    where: str,
    params: list[object],
    limit: int,
) -> SearchResult:
    counting = f"SELECT count(*), min(time), max(time) FROM {view} WHERE {where}"  # noqa: S608
    span = query(connection, counting, params)
    total, first, last = (span.column(i)[0].as_py() for i in range(3))
    table = query(
        connection,
        f"SELECT * EXCLUDE (day, store) FROM {view} WHERE {where} ORDER BY time DESC LIMIT {limit}",  # noqa: S608
        params,
    )
    keep = [n for n in table.column_names if table.column(n).null_count < table.num_rows]
    table = table.select(keep)
    rows = tuple(tuple(jsonable(value) for value in row.values()) for row in table.to_pylist())
    histogram = _histogram(connection, view, where, params, first, last) if total else ()
    return SearchResult(Rows(tuple(keep), rows), int(total or 0), histogram)


def _histogram(
    connection: duckdb.DuckDBPyConnection,
    view: str,
    where: str,
    params: list[object],
    first: datetime | None,
    last: datetime | None,
) -> tuple[Bin, ...]:
    if first is None or last is None:
        return ()
    seconds = (last - first).total_seconds()
    width = next((w for w in BUCKETS if seconds / w <= MAX_BINS), BUCKETS[-1])
    table = query(
        connection,
        f"SELECT to_timestamp(floor(epoch(time) / {width}) * {width}) AS t, count(*) AS n "  # noqa: S608
        f"FROM {view} WHERE {where} GROUP BY 1 ORDER BY 1",
        params,
    )
    return tuple(Bin(utc(row["t"]), int(row["n"])) for row in table.to_pylist())
