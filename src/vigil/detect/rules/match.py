"""Single-event rules: every matching event is a finding (repeats per key suppressed).

kind: match
class: authentication
where: {user.type: vendor, ctx.open: false}
group_by: [user.name, store.uid]
suppress: 1h
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

import polars as pl
from pydantic import Field

from vigil.detect.rules.base import (
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


class MatchSpec(RuleSpec, EventFilter):
    kind: Literal["match"] = "match"
    group_by: list[str] = Field(
        default_factory=list, description="Key columns repeats are suppressed by."
    )


@kinds.register("match")
class Match(Rule):
    """Every event that matches `where` raises an alert, once per key per `suppress`."""

    spec_type: ClassVar[type[RuleSpec]] = MatchSpec
    spec: MatchSpec

    def __init__(self, spec: RuleSpec, origin: str) -> None:
        super().__init__(spec, origin)
        if not isinstance(spec, MatchSpec):
            raise RuleError("match needs a match spec", origin)
        schema = class_schema(spec.event_class)
        check_columns(schema, spec.group_by, origin)
        self.where = compile_where(spec.where, schema, origin)

    @property
    def classes(self) -> tuple[str, ...]:
        return (self.spec.event_class,)

    def reads(self, event_class: str) -> set[str] | None:
        return reads_of(self.where, TIME, self.spec.group_by)

    def prefilter(self, event_class: str) -> pl.Expr | None:
        return self.where

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.catch_up()
        matched = (frame if self.filtered else frame.filter(self.where)).with_columns(
            pl.col(TIME).alias("_first"), pl.col(TIME).alias("_last")
        )
        found = self.alerts(matched, self.spec.group_by, _itself, event_class)
        self.prune_suppression(watermark)
        return found


def _itself(fired: pl.DataFrame) -> pl.DataFrame:
    return fired.drop("_first", "_last")
