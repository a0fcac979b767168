"""Alerts made inline for the correlation tests: a rule, minutes after T0, entities."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import polars as pl

from vigil.correlate import service
from vigil.correlate.types import Incident
from vigil.detect.sink import store_alerts
from vigil.detect.types import Alert, RuleMeta, Severity
from vigil.store.database import Database

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


def two_incidents_about_to_merge(database: Database) -> tuple[Incident, Incident]:
    """Two stores' void incidents, then stored (not yet folded) vendor logins linking their
    cashiers: the next `correlate_stored` merges the second incident into the first."""
    store_alerts(
        database,
        [
            make_alert("pos.voids", 0, {"store": "031", "cashier": "031007"}),
            make_alert("pos.voids", 5, {"store": "044", "cashier": "044002"}),
        ],
    )
    service.correlate_stored(database)
    first, second = sorted(service.list_incidents(database), key=lambda i: i.first_seen)
    store_alerts(
        database,
        [
            make_alert("vendor.login", 30, {"store": "044", "cashier": "044002", "vendor": "acme"}),
            make_alert("vendor.login", 35, {"store": "031", "cashier": "031007", "vendor": "acme"}),
        ],
    )
    return first, second
