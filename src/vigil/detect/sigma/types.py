"""The typed things Sigma loading hands on: compiled detections and correlations."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import polars as pl
from sigma.correlations import SigmaCorrelationRule
from sigma.rule import SigmaRule

from vigil.detect.types import RuleMeta


@dataclass(frozen=True, eq=False)
class SigmaDetection:
    """One Sigma rule, mapped to Vigil's columns and compiled for its event class.

    `frames[event_class].filter(expr)` are the events it matches. `warnings` name fields
    that are no column of the class (they never match); `alerting` is False when a
    correlation uses the rule without `generate: true`.
    """

    rule: SigmaRule
    event_class: str
    expr: pl.Expr
    meta: RuleMeta
    line: int
    falsepositives: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    alerting: bool = True
    logsource: str = ""
    """Name of the `pipeline.LOGSOURCES` entry chosen for the rule before the pipeline ran
    (the pipeline rewrites `EventID`, so the processed rule no longer selects it)."""

    @property
    def uid(self) -> str:
        return self.meta.uid


class CorrelationType(StrEnum):
    EVENT_COUNT = "event_count"
    VALUE_COUNT = "value_count"
    TEMPORAL = "temporal"
    TEMPORAL_ORDERED = "temporal_ordered"


class ConditionOp(StrEnum):
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    EQ = "eq"
    NEQ = "neq"


@dataclass(frozen=True, eq=False)
class SigmaCorrelation:
    """One Sigma correlation, with its referenced rules compiled and its fields mapped.

    `group_by` names the output key columns; `group_columns[i]` are the columns of
    `rules[i]`'s event class that fill them (aliases resolved, field mapping applied), and
    `value_columns[i]` the column counted by value_count.
    """

    rule: SigmaCorrelationRule
    type: CorrelationType
    timespan: int
    """Seconds."""
    group_by: tuple[str, ...]
    op: ConditionOp
    count: int | float
    rules: tuple[SigmaDetection, ...]
    group_columns: tuple[tuple[str, ...], ...]
    value_columns: tuple[str | None, ...]
    meta: RuleMeta
    line: int
    field: str | None = None
    """value_count's field as written in the rule (before mapping)."""
    generate: bool = False
    """Whether the referenced rules also alert on their own."""
