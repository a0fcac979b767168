"""Vectorised helpers the estate lookups share: keys to row indexes, rows by index, fills.

Every lookup has the same shape: a column of keys becomes a column of row
indexes into a small table of the estate (a hash lookup in polars), the rows are
gathered (a null index gives a row of nulls), and the found values fill only the
event's null or empty fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import numpy.typing as npt
import polars as pl


def unique_keys(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Key -> index for keys that name exactly one thing; ambiguous keys are dropped."""
    found: dict[str, int] = {}
    seen_twice: set[str] = set()
    for key, index in pairs:
        if key in found and found[key] != index:
            seen_twice.add(key)
        found.setdefault(key, index)
    return {key: index for key, index in found.items() if key not in seen_twice}


def index_of(values: pl.Expr, mapping: Mapping[str, int]) -> pl.Expr:
    """The row index of each key; null for keys not in `mapping`."""
    if not mapping:
        return pl.lit(None, dtype=pl.Int64)
    return values.replace_strict(mapping, default=None, return_dtype=pl.Int64)


def is_empty(column: str) -> pl.Expr:
    value = pl.col(column)
    return value.is_null() | (value.cast(pl.String) == "")


def fill_empty(column: str, value: pl.Expr) -> pl.Expr:
    """The column with its null or empty values replaced: the source is never overwritten."""
    return pl.when(is_empty(column)).then(value).otherwise(pl.col(column)).alias(column)


def gather_rows(table: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
    """Rows of `table` by index; a null index gives a row of nulls."""
    if table.height == 0:
        return pl.DataFrame(
            [pl.Series(name, [None] * len(index), dtype) for name, dtype in table.schema.items()]
        )
    return table.select(pl.all().gather(index))


def nullable_index(owners: npt.NDArray[np.int64]) -> pl.Series:
    """Owner indexes as a polars column, with -1 as null."""
    column = pl.Series("i", owners, dtype=pl.Int64).to_frame()
    return column.select(pl.when(pl.col("i") >= 0).then(pl.col("i")))[:, 0]
