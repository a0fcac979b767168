"""New value: the first time a key shows a value ("this terminal never talked to that IP").

    kind: new_value
    class: network_activity
    where: {src_endpoint.zone: cardholder_data}
    key: [src_endpoint.uid]
    value: [dst_endpoint.ip, dst_endpoint.port]
    learn_for: 1d

For `learn_for` of event time after the first event it sees, the rule only
learns; after that, a (key, value) pair it has not seen raises an alert and is
remembered. Values not seen again for `forget_after` are forgotten, so state
stays bounded and a value that returns after months is new again.
"""

from __future__ import annotations

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
from vigil.detect.rules.state import Partitions
from vigil.detect.types import TIME, Alert, RuleError


class NewValueSpec(RuleSpec, EventFilter):
    kind: Literal["new_value"] = "new_value"
    key: list[str] = Field(default_factory=list, description="Whose values: empty = everyone's.")
    value: list[str] = Field(min_length=1, description="Columns that make up the value.")
    group_by: list[str] | None = Field(
        default=None,
        description="Key columns repeats are suppressed by (default: `key` and `value`).",
    )
    learn_for: Duration = Field(
        default=timedelta(days=1), description="Event time spent learning before alerting."
    )
    forget_after: Duration = Field(
        default=timedelta(days=30), description="A value unseen this long is new again."
    )


@kinds.register("new_value")
class NewValue(Rule):
    """A (key, value) pair never seen before, after a learning period."""

    spec_type: ClassVar[type[RuleSpec]] = NewValueSpec
    spec: NewValueSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, NewValueSpec):
            raise RuleError("new_value needs a new_value spec", origin)
        schema = class_schema(spec.event_class)
        check_columns(schema, [*spec.key, *spec.value, *(spec.group_by or [])], origin)
        self.where = compile_where(spec.where, schema, origin)
        self.pair = [*spec.key, *spec.value]
        self._seen = Partitions("_seen")
        """Per batch: the pairs seen and when last; a pair is known while any row of it is
        not older than `_forget` (folded into one row per pair when compacted)."""
        self._forget: datetime | None = None
        self._learning_until: datetime | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.spec.event_class,)

    def reads(self, event_class: str) -> set[str] | None:
        return reads_of(self.where, TIME, self.pair, self.spec.group_by)

    def prefilter(self, event_class: str) -> pl.Expr | None:
        return self.where

    def prune(self, watermark: datetime) -> None:
        self._prune(watermark)

    @property
    def suppress(self) -> timedelta:
        return self.spec.suppress or timedelta(hours=1)

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.catch_up()
        matched = (frame if self.filtered else frame.filter(self.where)).drop_nulls(self.pair)
        if matched.is_empty():
            self._prune(watermark)
            return []
        if self._learning_until is None:
            first = self.stream_start or matched.get_column(TIME).min()
            if isinstance(first, datetime):
                self._learning_until = first + self.spec.learn_for
        extra = [c for c in self.spec.group_by or [] if c not in self.pair]
        pairs = (
            matched.lazy()
            .sort(TIME)
            .group_by(self.pair)
            .agg(
                pl.col(TIME).min().alias("_first"),
                pl.col(TIME).max().alias("_seen"),
                *(pl.col(c).first() for c in extra),
            )
            .collect()
        )
        unseen = pairs.lazy()
        if len(self._seen):
            known = self._known().select(self.pair)
            unseen = unseen.join(known, on=self.pair, how="anti", nulls_equal=True)
        if self._learning_until is not None:
            unseen = unseen.filter(pl.col("_first") >= self._learning_until)
        new = unseen.collect()
        self._seen.append(pairs.select(*self.pair, "_seen"), self._fold)
        found: list[Alert] = []
        if not new.is_empty():
            hits = new.with_columns(pl.col("_first").alias("_last")).drop("_seen")
            by = self.pair if self.spec.group_by is None else self.spec.group_by
            found = self.alerts(hits, by, self._evidence(matched), event_class)
        self._prune(watermark)
        return found

    def _evidence(self, matched: pl.DataFrame):  # type: ignore[no-untyped-def]
        columns = self.pair

        def rows(fired: pl.DataFrame) -> pl.DataFrame:
            joined = matched.join(
                fired.select(*columns, "_hit", "_first"), on=columns, how="inner", nulls_equal=True
            )
            return (
                joined.filter(pl.col(TIME) == pl.col("_first"))
                .drop("_first")
                .group_by("_hit", maintain_order=True)
                .head(1)
            )

        return rows

    def _known(self) -> pl.LazyFrame:
        """Pairs seen and not forgotten (a pair may have a row in several partitions)."""
        seen = self._seen.frame().lazy()
        return seen if self._forget is None else seen.filter(pl.col("_seen") >= self._forget)

    def _fold(self, seen: pl.DataFrame) -> pl.DataFrame:
        known = (
            seen.lazy()
            if self._forget is None
            else seen.lazy().filter(pl.col("_seen") >= self._forget)
        )
        return known.group_by(self.pair).agg(pl.col("_seen").max()).collect()

    def _prune(self, watermark: datetime) -> None:
        forget = watermark - self.spec.forget_after
        if self._forget is None or forget > self._forget:
            self._forget = forget
        self._seen.prune(forget)
        self.prune_suppression(watermark)
