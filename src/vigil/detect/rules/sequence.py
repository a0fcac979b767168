"""Sequence: A then B within T, for the same key ("after-hours door opening, then a till sale").

    kind: sequence
    first: {class: door_access, where: {ctx.open: false}}
    then: {class: pos_transaction, where: {ctx.open: false}}
    by: [store.uid]
    within: 30m

Both sides are kept for `within` of event time, so the order in which the
events arrive does not matter (a late A still pairs with an earlier-arrived B);
only pairs with at least one new side are joined on each batch.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.rules.base import (
    Duration,
    EventFilter,
    Rule,
    RuleSpec,
    check_columns,
    class_schema,
    compile_where,
    kinds,
    reads_of,
)
from vigil.detect.types import TIME, Alert, RuleError


class SequenceSpec(RuleSpec):
    kind: Literal["sequence"] = "sequence"
    first: EventFilter = Field(description="What happens first (A).")
    then: EventFilter = Field(description="What follows (B).")
    by: list[str] = Field(min_length=1, description="Key columns, present in both classes.")
    within: Duration = Field(description="B at most this long after A.")
    ordered: bool = Field(
        default=True, description="B must follow A; false: both within `within`, either order."
    )


@kinds.register("sequence")
class Sequence(Rule):
    """A followed by B within `within`, same key."""

    spec_type: ClassVar[type[RuleSpec]] = SequenceSpec
    spec: SequenceSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, SequenceSpec):
            raise RuleError("sequence needs a sequence spec", origin)
        first, then = class_schema(spec.first.event_class), class_schema(spec.then.event_class)
        check_columns(first, spec.by, origin)
        check_columns(then, spec.by, origin)
        self.where_first = compile_where(spec.first.where, first, origin)
        self.where_then = compile_where(spec.then.where, then, origin)
        self._a = pl.DataFrame()
        self._b = pl.DataFrame()

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.spec.first.event_class, self.spec.then.event_class)))

    def reads(self, event_class: str) -> set[str] | None:
        found: set[str] = {TIME, *self.spec.by}
        for side, where in (
            (self.spec.first, self.where_first),
            (self.spec.then, self.where_then),
        ):
            if side.event_class == event_class:
                columns = reads_of(where)
                if columns is None:
                    return None
                found |= columns
        return found

    def prefilter(self, event_class: str) -> pl.Expr | None:
        chosen = [
            where
            for side, where in (
                (self.spec.first, self.where_first),
                (self.spec.then, self.where_then),
            )
            if side.event_class == event_class
        ]
        return chosen[0] if len(chosen) == 1 else chosen[0] | chosen[1]

    def prune(self, watermark: datetime) -> None:
        self._prune(watermark)

    @property
    def suppress(self) -> timedelta:
        return self.spec.suppress or self.spec.within

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.catch_up()
        keys = self.spec.by
        new_a = new_b = pl.DataFrame()
        if event_class == self.spec.first.event_class:
            new_a = frame.filter(self.where_first).drop_nulls(keys).with_row_index("_row")
        if event_class == self.spec.then.event_class:
            new_b = frame.filter(self.where_then).drop_nulls(keys).with_row_index("_row")
        found: list[Alert] = []
        if len(new_a) or len(new_b):
            a = _tagged(self._a, new_a, "a")
            b = _tagged(self._b, new_b, "b")
            pairs = self._pairs(a, b)
            if not pairs.is_empty():
                hits = pairs.group_by(keys).agg(
                    pl.min_horizontal("_ta", "_tb").min().alias("_first"),
                    pl.max_horizontal("_ta", "_tb").min().alias("_last"),
                )
                found = self.alerts(hits, keys, self._evidence(a, b, pairs), event_class)
            self._a = a.drop("_new", "_id") if len(a) else self._a
            self._b = b.drop("_new", "_id") if len(b) else self._b
        self._prune(watermark)
        return found

    def _pairs(self, a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
        if a.is_empty() or b.is_empty():
            return pl.DataFrame()
        keys = self.spec.by
        left = a.select(*keys, pl.col(TIME).alias("_ta"), pl.col("_new").alias("_na"), "_id")
        right = b.select(*keys, pl.col(TIME).alias("_tb"), pl.col("_new").alias("_nb"), "_id")
        return left.join(right, on=keys, how="inner", suffix="_b", nulls_equal=True).filter(
            (pl.col("_na") | pl.col("_nb"))
            & (
                ((pl.col("_tb") >= pl.col("_ta")) | pl.lit(not self.spec.ordered))
                & ((pl.col("_tb") - pl.col("_ta")).abs() <= self.spec.within)
            )
        )

    def _evidence(
        self, a: pl.DataFrame, b: pl.DataFrame, pairs: pl.DataFrame
    ) -> Callable[[pl.DataFrame], pl.DataFrame]:
        keys = self.spec.by

        def rows(fired: pl.DataFrame) -> pl.DataFrame:
            chosen = pairs.join(
                fired.select(*keys, "_hit", "_first", "_last"), on=keys, nulls_equal=True
            ).filter(
                (pl.min_horizontal("_ta", "_tb") >= pl.col("_first"))
                & (pl.max_horizontal("_ta", "_tb") <= pl.col("_last"))
            )
            firsts = a.join(chosen.select("_id", "_hit").unique(), on="_id").drop("_id", "_new")
            thens = b.join(
                chosen.select(pl.col("_id_b").alias("_id"), "_hit").unique(), on="_id"
            ).drop("_id", "_new")
            return pl.concat([firsts, thens], how="diagonal_relaxed").sort("_hit", TIME)

        return rows

    def _prune(self, watermark: datetime) -> None:
        horizon = watermark - self.spec.within
        if len(self._a):
            self._a = self._a.filter(pl.col(TIME) >= horizon)
        if len(self._b):
            self._b = self._b.filter(pl.col(TIME) >= horizon)
        self.prune_suppression(watermark)


def _tagged(old: pl.DataFrame, new: pl.DataFrame, side: str) -> pl.DataFrame:
    """Kept rows and new rows, with `_new` and a row id unique in this batch."""
    parts = []
    if len(old):
        parts.append(old.with_columns(pl.lit(value=False).alias("_new")))
    if len(new):
        parts.append(new.drop("_row").with_columns(pl.lit(value=True).alias("_new")))
    if not parts:
        return pl.DataFrame()
    rows = pl.concat(parts, how="diagonal_relaxed")
    return rows.with_row_index("_id").with_columns(
        (pl.lit(side + "-") + pl.col("_id").cast(pl.String)).alias("_id")
    )
