"""Where alerts go: OCSF Detection Findings, the operational database, the bus.

Alert ids are deterministic (rule, entities, first evidence time), so storing or
publishing the same alert twice (a replayed batch, a backtest run again) keeps one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import select

from vigil import __version__
from vigil.bus.types import Bus
from vigil.detect.types import Alert
from vigil.events.classes import DetectionFinding
from vigil.events.objects import (
    Analytic,
    Attack,
    Evidence,
    FindingInfo,
    Metadata,
    Product,
    Technique,
)
from vigil.store.database import Database
from vigil.store.models import Alert as AlertRow

EVIDENCE_STORED = 20


def to_finding(alert: Alert) -> DetectionFinding:
    """The alert as an OCSF 1.8 Detection Finding (class 2004)."""
    info = FindingInfo(
        uid=alert.uid,
        title=alert.rule.title,
        desc=alert.explanation,
        types=[alert.rule.use_case],
        first_seen_time=alert.first_seen,
        last_seen_time=alert.time,
        analytic=Analytic(type_id=1, type="Rule", uid=alert.rule.uid, name=alert.rule.title),
        attacks=[Attack(technique=Technique(uid=uid)) for uid in alert.rule.attack] or None,
        data_sources=[alert.event_class] if alert.event_class else None,
    )
    rows = alert.evidence.head(EVIDENCE_STORED).to_dicts()
    return DetectionFinding(
        metadata=Metadata(
            product=Product(name="Vigil", vendor_name="Vigil", version=__version__),
            uid=alert.uid,
        ),
        time=alert.time,
        severity_id=int(alert.rule.severity),
        activity_id=1,
        finding_info=info,
        confidence_score=round(alert.score * 100),
        is_alert=True,
        evidences=[Evidence(name="entities", data=dict(alert.entities))]
        + [Evidence(name=f"row {i + 1}", data=_jsonable(row)) for i, row in enumerate(rows)],
    )


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps({k: v for k, v in row.items() if v is not None}, default=str))  # type: ignore[no-any-return]


def alert_record(alert: Alert) -> dict[str, Any]:
    """A JSON-ready summary of an alert, for the bus and the CLI."""
    return {
        "uid": alert.uid,
        "time": alert.time.astimezone(UTC).isoformat(),
        "first_seen": alert.first_seen.astimezone(UTC).isoformat(),
        "rule": alert.rule.uid,
        "title": alert.rule.title,
        "use_case": alert.rule.use_case,
        "severity": alert.rule.severity.name.lower(),
        "score": round(alert.score, 3),
        "entities": alert.entities,
        "explanation": alert.explanation,
        "attack": list(alert.rule.attack),
        "pci": list(alert.rule.pci),
        "evidence": _jsonable({"rows": alert.evidence.head(EVIDENCE_STORED).to_dicts()})["rows"]
        if len(alert.evidence)
        else [],
    }


def store_alerts(database: Database, alerts: Sequence[Alert]) -> int:
    """Insert alerts not stored yet; returns how many were new."""
    if not alerts:
        return 0
    unique = {alert.uid: alert for alert in alerts}
    with database.session() as session:
        known = set(session.scalars(select(AlertRow.uid).where(AlertRow.uid.in_(list(unique)))))
        new = [alert for uid, alert in unique.items() if uid not in known]
        for alert in new:
            session.add(
                AlertRow(
                    uid=alert.uid,
                    time=alert.time,
                    rule_uid=alert.rule.uid,
                    title=alert.rule.title,
                    severity_id=int(alert.rule.severity),
                    store_uid=alert.store,
                    score=alert.score,
                    explanation=alert.explanation,
                    finding=json.loads(to_finding(alert).model_dump_json(exclude_none=True)),
                )
            )
    return len(new)


async def publish_alerts(bus: Bus, alerts: Sequence[Alert]) -> None:
    """One message per alert on `alerts.<store>.<rule>`; the alert uid de-duplicates."""
    for alert in alerts:
        store = alert.store or "estate"
        subject = f"alerts.{store}.{alert.rule.uid.replace('.', '_')}"
        body = json.dumps(alert_record(alert), default=str).encode()
        await bus.publish(subject, body, {"Nats-Msg-Id": alert.uid})
