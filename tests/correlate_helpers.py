"""Alerts made inline for the correlation tests: a rule, minutes after T0, entities."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import polars as pl

from vigil.detect.types import Alert, RuleMeta, Severity

T0 = datetime(2026, 11, 23, 11, tzinfo=UTC)
"""Monday 03:00 in store 031 (Los Angeles) of the sample estate: closed."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def make_alert(
    rule: str,
    minutes: float,
    entities: Mapping[str, str],
    *,
    severity: str = "high",
    attack: tuple[str, ...] = (),
    score: float = 0.8,
    uid: str = "",
    span: float = 1.0,
    use_case: str = "",
) -> Alert:
    """An alert of `rule` whose evidence ran from `minutes - span` to `minutes` after T0."""
    meta = RuleMeta(
        uid=rule,
        title=f"Title of {rule}",
        severity=Severity[severity.upper()],
        confidence=round(score * 100),
        explanation="",
        use_case=use_case or rule.rsplit(".", 1)[-1],
        attack=attack,
    )
    return Alert(
        rule=meta,
        time=at(minutes),
        first_seen=at(minutes - span),
        entities=dict(entities),
        values={},
        evidence=pl.DataFrame(),
        score=score,
        explanation=f"{rule} fired",
        uid=uid,
    )
