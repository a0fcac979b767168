"""Sigma rules as engine rules: a detection is a `match`, a correlation a native windowed kind.

`vigil.detect.sigma` parses with pySigma, maps fields to OCSF columns and
compiles each detection to one polars expression. Here each becomes a rule the
engine runs with keyed state like any other:

| Sigma                         | engine rule                                   |
| ----------------------------- | --------------------------------------------- |
| detection                     | match (one alert per key per 10 minutes)      |
| correlation event_count       | threshold, count over `timespan`              |
| correlation value_count       | distinct count of the field over `timespan`   |
| correlation temporal(_ordered)| sequence of two rules within `timespan`       |

A detection referenced by a correlation without `generate: true` raises no
alert of its own (Sigma's semantics).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from vigil.detect.rules.aggregate import Distinct, DistinctSpec, Threshold, ThresholdSpec
from vigil.detect.rules.base import Rule
from vigil.detect.rules.match import Match, MatchSpec
from vigil.detect.rules.sequence import Sequence, SequenceSpec
from vigil.detect.types import RuleError, RuleMeta

SUPPRESS = timedelta(minutes=10)
KEY_CANDIDATES = ("store.uid", "device.hostname", "device.uid", "src_endpoint.ip", "user.name")
"""Columns a Sigma detection's repeats are suppressed by, the first two a class has."""

_OPS = {"gte": "gte", "gt": "gt", "lte": "lte", "lt": "lt", "eq": "eq"}


def _common(meta: RuleMeta, kind: str, event_class: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": meta.uid,
        "title": meta.title,
        "kind": kind,
        "use_case": meta.use_case or "sigma",
        "severity": meta.severity.name.lower(),
        "confidence": meta.confidence,
        "attack": list(meta.attack),
        "pci": list(meta.pci),
        "explanation": meta.explanation or f"{meta.title}.",
        "description": meta.description,
        "tags": list(meta.tags),
    }
    if event_class is not None:
        fields["class"] = event_class
    return fields


def _detection(item: Any, origin: str) -> Rule:
    from vigil.detect.rules.base import class_schema

    schema = class_schema(item.event_class)
    keys = [column for column in KEY_CANDIDATES if column in schema][:2]
    spec = MatchSpec.model_validate(
        {**_common(item.meta, "match", item.event_class), "group_by": keys, "suppress": SUPPRESS}
    )
    rule = Match(spec, origin)
    rule.where = item.expr
    rule.meta = item.meta
    return rule


def _either(items: tuple[Any, ...]) -> pl.Expr:
    expr: pl.Expr = items[0].expr
    for item in items[1:]:
        expr = expr | item.expr
    return expr


def _correlation(item: Any, origin: str) -> Rule:
    kind = str(item.type)
    classes = {rule.event_class for rule in item.rules}
    window = timedelta(seconds=item.timespan)
    condition = {_OPS[str(item.op)]: item.count}
    group = list(item.group_columns[0]) if item.group_columns else []
    if kind in {"event_count", "value_count"}:
        if len(classes) != 1:
            raise RuleError(f"{kind} over rules of several event classes is not supported", origin)
        event_class = classes.pop()
        fields = {
            **_common(item.meta, "threshold", event_class),
            "group_by": group,
            "window": window,
            "condition": condition,
        }
        rule: Rule
        if kind == "event_count":
            rule = Threshold(ThresholdSpec.model_validate(fields), origin)
        else:
            value = item.value_columns[0] or item.field
            fields.update({"kind": "distinct", "field": value})
            rule = Distinct(DistinctSpec.model_validate(fields), origin)
        rule.where = _either(item.rules)
        rule.meta = item.meta
        return rule
    if kind in {"temporal", "temporal_ordered"}:
        if len(item.rules) != 2:
            raise RuleError(f"{kind} is supported over exactly two rules", origin)
        first, then = item.rules
        fields = {
            **_common(item.meta, "sequence", None),
            "first": {"class": first.event_class},
            "then": {"class": then.event_class},
            "by": group,
            "within": window,
            "ordered": kind == "temporal_ordered",
        }
        sequence = Sequence(SequenceSpec.model_validate(fields), origin)
        sequence.where_first = first.expr
        sequence.where_then = then.expr
        sequence.meta = item.meta
        return sequence
    raise RuleError(f"Sigma correlation type {kind!r} is not supported", origin)


def sigma_rules(text: str, name: str) -> list[Rule]:
    """The engine rules of a Sigma file (every document of it)."""
    from vigil.detect.sigma import SigmaCorrelation, load_sigma

    rules: list[Rule] = []
    for item in load_sigma(text, name):
        origin = f"{name}:{item.line}"
        if isinstance(item, SigmaCorrelation):
            rules.append(_correlation(item, origin))
        elif item.alerting:
            rules.append(_detection(item, origin))
    return rules
