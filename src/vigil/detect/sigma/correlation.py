"""Sigma correlation rules as Vigil data, and a reference evaluator over event time.

`SigmaCorrelation` is what the streaming engine consumes; `evaluate_correlation` is the
slow-but-obvious batch definition it is tested against. Windows slide over event time and
end at each matching event: a window is `[t - timespan, t]`, inclusive at both ends. Events
whose group-by key has a null are left out (they belong to no group).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import polars as pl
from sigma.correlations import SigmaCorrelationCondition, SigmaCorrelationRule

from vigil.detect.sigma.matchers import SigmaCompileError
from vigil.detect.sigma.pipeline import logsource_spec, spec_named
from vigil.detect.sigma.types import ConditionOp, CorrelationType, SigmaCorrelation, SigmaDetection
from vigil.detect.types import TIME, RuleMeta

FIRST: Final = "first_time"
LAST: Final = "last_time"
COUNT: Final = "count"
_RULE: Final = "_rule"
_VALUE: Final = "_value"


def _matches(
    correlation: SigmaCorrelation, frames_by_class: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """Every event any referenced rule matched: time, group keys, value, rule index."""
    parts: list[pl.DataFrame] = []
    for index, detection in enumerate(correlation.rules):
        frame = frames_by_class.get(detection.event_class)
        if frame is None or frame.is_empty():
            continue
        columns = correlation.group_columns[index]
        value = correlation.value_columns[index]
        selected = frame.filter(detection.expr).select(
            pl.col(TIME),
            *[
                _column(frame, name).alias(key)
                for name, key in zip(columns, correlation.group_by, strict=True)
            ],
            (_column(frame, value) if value else pl.lit(None)).cast(pl.String).alias(_VALUE),
            pl.lit(index, dtype=pl.Int32).alias(_RULE),
        )
        parts.append(selected)
    keys = dict.fromkeys(correlation.group_by, pl.String)
    empty = pl.DataFrame(
        schema={TIME: pl.Datetime("ms", "UTC"), **keys, _VALUE: pl.String, _RULE: pl.Int32}
    )
    if not parts:
        return empty
    frame = pl.concat(
        [part.with_columns(pl.col(key).cast(pl.String) for key in keys) for part in parts],
        how="diagonal_relaxed",
    )
    return frame.drop_nulls([TIME, *correlation.group_by]).sort([*correlation.group_by, TIME])


def _column(frame: pl.DataFrame, name: str | None) -> pl.Expr:
    """A column, or null when the frame lacks it (a missing field matches nothing)."""
    if name is not None and name in frame.columns:
        return pl.col(name)
    return pl.lit(None, dtype=pl.String)


def _measure(correlation: SigmaCorrelation) -> pl.Expr:
    """What the condition compares, per window."""
    if correlation.type == CorrelationType.EVENT_COUNT:
        return pl.len().cast(pl.Int64)
    if correlation.type == CorrelationType.VALUE_COUNT:
        return pl.col(_VALUE).drop_nulls().n_unique().cast(pl.Int64)
    if correlation.type == CorrelationType.TEMPORAL:
        return pl.col(_RULE).n_unique().cast(pl.Int64)
    return _in_order(len(correlation.rules))


def _in_order(rules: int) -> pl.Expr:
    """How many of the rules, from the first, matched in order within the window.

    Greedy: the earliest match of rule 0, then the earliest match of rule 1 at or after
    it, and so on; a rule that cannot follow stops the chain.
    """
    time = pl.col(TIME)
    previous: pl.Expr | None = None
    matched: list[pl.Expr] = []
    for index in range(rules):
        eligible = pl.col(_RULE) == index
        if previous is not None:
            eligible = eligible & (time >= previous)
        earliest = time.filter(eligible).min()
        matched.append(earliest.is_not_null().cast(pl.Int64))
        previous = earliest
    total = matched[0]
    for step in matched[1:]:
        total = total + step
    return total


def _satisfies(measure: pl.Expr, op: ConditionOp, count: float) -> pl.Expr:
    compare = {
        ConditionOp.GT: measure > count,
        ConditionOp.GTE: measure >= count,
        ConditionOp.LT: measure < count,
        ConditionOp.LTE: measure <= count,
        ConditionOp.EQ: measure == count,
        ConditionOp.NEQ: measure != count,
    }
    return compare[op]


def evaluate_correlation(
    correlation: SigmaCorrelation, frames_by_class: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    """Every (group, window) that satisfies the correlation.

    Columns: the group-by keys (as strings), `first_time` and `last_time` (event time of
    the first and last matching event in the window) and `count` (events, distinct values,
    distinct rules or rules matched in order, by type). One row per distinct window ending
    at a matching event.
    """
    events = _matches(correlation, frames_by_class)
    keys = list(correlation.group_by)
    windows = events.rolling(
        index_column=TIME,
        period=f"{correlation.timespan}s",
        closed="both",
        group_by=keys or None,
    ).agg(
        pl.col(TIME).min().alias(FIRST),
        pl.col(TIME).max().alias(LAST),
        _measure(correlation).alias(COUNT),
    )
    hits = windows.filter(_satisfies(pl.col(COUNT), correlation.op, correlation.count))
    return hits.select(*keys, FIRST, LAST, COUNT).unique(maintain_order=True)


def _map_field(detection: SigmaDetection, name: str) -> str:
    """A Sigma field name as the column of the detection's event class.

    The log source is the one chosen when the rule was loaded: the processed rule has lost
    what chose it (`EventID: 4625` became `status_id: 2`).
    """
    spec = spec_named(detection.logsource) or logsource_spec(detection.rule)
    target = spec.mapping.get(name, name) if spec else name
    return target if isinstance(target, str) else target[0]


def _reference_keys(detection: SigmaDetection) -> set[str]:
    rule = detection.rule
    keys = {str(rule.id)} if rule.id else set()
    return keys | ({rule.name} if rule.name else set())


def _group_columns(rule: SigmaCorrelationRule, detection: SigmaDetection) -> tuple[str, ...]:
    """The detection's columns for each group-by name, through the aliases when one names it."""
    aliases = {alias.alias: alias for alias in rule.aliases}
    references = _reference_keys(detection)
    columns: list[str] = []
    for name in rule.group_by or []:
        field = name
        if name in aliases:
            mapped = [f for ref, f in aliases[name].mapping.items() if ref.reference in references]
            if not mapped:
                raise SigmaCompileError(f"alias {name!r} has no field for rule {detection.uid}")
            field = mapped[0]
        columns.append(_map_field(detection, field))
    return tuple(columns)


def build_correlation(
    rule: SigmaCorrelationRule, rules: list[SigmaDetection], meta: RuleMeta, line: int
) -> SigmaCorrelation:
    """A resolved pySigma correlation rule over already compiled detections."""
    condition = rule.condition
    if not isinstance(condition, SigmaCorrelationCondition):
        raise SigmaCompileError("extended correlation conditions are not supported")
    kind = CorrelationType(rule.type.name.lower()) if rule.type.name.lower() in _TYPES else None
    if kind is None:
        raise SigmaCompileError(f"correlation type {rule.type.name.lower()} is not supported")
    field = condition.fieldref[0] if isinstance(condition.fieldref, list) else condition.fieldref
    return SigmaCorrelation(
        rule=rule,
        type=kind,
        timespan=rule.timespan.seconds,
        group_by=tuple(rule.group_by or ()),
        op=ConditionOp(condition.op.name.lower()),
        count=condition.count,
        rules=tuple(rules),
        group_columns=tuple(_group_columns(rule, detection) for detection in rules),
        value_columns=tuple(_map_field(d, field) if field else None for d in rules),
        meta=meta,
        line=line,
        field=field,
        generate=rule.generate,
    )


_TYPES: Final = frozenset(kind.value for kind in CorrelationType)
