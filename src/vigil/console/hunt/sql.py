"""Read-only SQL for hunters, limited to the stores in their scope.

On top of `Lake.query` (one SELECT, file access confined to the lake), the
query's syntax tree (DuckDB's own parser, `json_serialize_sql`) must name only
the event-class views and its own CTEs: no schema- or catalog-qualified names,
no table functions (`read_parquet`, `glob`, ...). For a scoped hunter the
checked query, re-printed from that tree, runs inside CTEs that shadow every
class view with the rows of their stores only; the user's SQL is never trusted
to filter itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import duckdb

from vigil.console.auth.types import Scope
from vigil.console.errors import BadRequestError
from vigil.console.hunt.types import Rows
from vigil.console.lakeread import CLASS_COLUMNS, jsonable
from vigil.store.errors import QueryRefusedError, StoreError
from vigil.store.lake import Lake

MAX_ROWS = 1000
TABLE_REF, TABLE_FUNCTION = "BASE_TABLE", "TABLE_FUNCTION"


def _tree(sql: str) -> dict[str, object]:
    with duckdb.connect() as connection:
        row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    tree: dict[str, object] = json.loads(row[0]) if row else {"error": True}
    if tree.get("error"):
        reason = tree.get("error_message") or "cannot be parsed"
        raise BadRequestError(f"refused: {reason}")
    return tree


def _nodes(value: object) -> Iterator[dict[str, object]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _nodes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _nodes(item)


def _cte_names(tree: dict[str, object]) -> set[str]:
    names = set()
    for node in _nodes(tree):
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map") or []:
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    names.add(entry["key"])
    return names


def check(sql: str) -> str:
    """The query re-printed from its syntax tree, if it reads only class views and its CTEs."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        raise BadRequestError(f"invalid SQL: {str(error).splitlines()[0]}") from error
    if len(statements) != 1:
        raise BadRequestError(f"refused: expected one statement, got {len(statements)}")
    if statements[0].type != duckdb.StatementType.SELECT:
        raise BadRequestError(f"refused: only SELECT, not {statements[0].type.name}")
    tree = _tree(sql)
    ctes = _cte_names(tree)
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == TABLE_FUNCTION:
            raise BadRequestError(
                "refused: table functions (read_parquet, glob, ...) are not allowed"
            )
        if kind != TABLE_REF:
            continue
        path = node.get("qualified_name", {})
        parts = path.get("path") if isinstance(path, dict) else None
        if node.get("schema_name") or node.get("catalog_name") or (parts and len(parts) > 1):
            raise BadRequestError("refused: name tables without a schema or catalog")
        name = node.get("table_name")
        if name not in CLASS_COLUMNS and name not in ctes:
            views = ", ".join(sorted(CLASS_COLUMNS))
            raise BadRequestError(f"refused: unknown table {name!r}; the views are {views}")
    with duckdb.connect() as connection:
        row = connection.execute("SELECT json_deserialize_sql(?)", [json.dumps(tree)]).fetchone()
    if row is None or not isinstance(row[0], str):
        raise BadRequestError("refused: the query cannot be re-printed")
    return row[0]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def scoped(sql: str, scope: Scope) -> str:
    """The checked query over views that hold only the scope's stores' rows."""
    if scope.everything:
        return sql
    stores = ", ".join(_literal(store) for store in sorted(scope.stores))
    where = f'"store.uid" IN ({stores})' if stores else "false"
    # Class names come from the event model; store uids are quoted literals; `sql` is checked.
    views = ", ".join(
        f'"{name}" AS (SELECT * FROM main."{name}" WHERE {where})'  # noqa: S608
        for name in sorted(CLASS_COLUMNS)
    )
    return f"WITH {views}\nSELECT * FROM (\n{sql}\n)"


def run(lake: Lake, sql: str, scope: Scope) -> Rows:
    """Check, scope and run a hunter's query; at most MAX_ROWS rows."""
    query = scoped(check(sql), scope)
    try:
        result = lake.query(query, limit=MAX_ROWS)
    except QueryRefusedError as error:
        raise BadRequestError(str(error)) from error
    except StoreError as error:
        raise BadRequestError(str(error)) from error
    return Rows(
        tuple(result.columns),
        tuple(tuple(jsonable(value) for value in row) for row in result.rows),
    )
