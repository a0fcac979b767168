"""What the endpoint parsers share: activity ids, time and path helpers, per-class batching.

osquery and Windows events both describe processes, logons and files on a till
or a back-office PC; these helpers give them the same OCSF columns and let one
parse produce several classes from one decoded chunk (`finish`).
"""

from __future__ import annotations

import polars as pl

from vigil.events import OcsfEvent
from vigil.ingest.parsers.base import (
    INDEX,
    parse_with,
    split_rejected,
)
from vigil.ingest.types import ParseResult

REGULAR_FILE = 1
LAUNCH, TERMINATE, OTHER = 1, 2, 99
LOGON, LOGOFF = 1, 2


def struct_of(*names: str) -> pl.Struct:
    """A struct of text fields: both sources give values as strings, cast per column later."""
    return pl.Struct({name: pl.String() for name in names})


def seconds(text: pl.Expr) -> pl.Expr:
    """Epoch seconds (text or number) as a UTC millisecond time; null when not a number."""
    number = text.cast(pl.Float64, strict=False)
    return (number * 1000).round(0).cast(pl.Int64).cast(pl.Datetime("ms", "UTC"))


def basename(path: pl.Expr) -> pl.Expr:
    """The last part of a POSIX or Windows path."""
    return path.str.extract(r"([^\\/]+)[\\/]*$", 1)


def unix_file(path: pl.Expr) -> dict[str, pl.Expr]:
    """OCSF `file` columns (prefix-less) of a path; null when there is no path."""
    present = path.is_not_null() & (path != "")
    return {
        "name": pl.when(present).then(basename(path)),
        "path": pl.when(present).then(path),
        "type_id": pl.when(present).then(pl.lit(REGULAR_FILE)),
    }


def json_object(*fields: pl.Expr) -> pl.Expr:
    """A JSON object of the named expressions, leaving out the null ones."""
    encoded = pl.struct(*fields).struct.json_encode()
    compact = encoded.str.replace_all(r'"[A-Za-z_]+":null,?', "").str.replace(r",\}$", "}")
    return pl.when(compact != "{}").then(compact)


def prefixed(prefix: str, columns: dict[str, pl.Expr]) -> list[pl.Expr]:
    return [expr.alias(f"{prefix}.{name}") for name, expr in columns.items()]


def finish(frame: pl.DataFrame, batches: dict[type[OcsfEvent], list[pl.Expr]]) -> ParseResult:
    """Reject the bad rows once, then batch each class from the rows of its `_class`."""
    good, rejected = split_rejected(frame)
    result = ParseResult(rejected=rejected)
    for event_class, mapping in batches.items():
        rows = good.filter(pl.col("_class") == event_class.CLASS_NAME)
        if rows.height:
            result.extend(parse_with(rows.select(INDEX, *mapping), event_class))
    return result
