"""Rows of the operational database and the correlator's types, both ways.

Times are stored in UTC and come back aware (SQLite hands them back naive);
an alert comes back from its stored Detection Finding without its evidence
rows, which correlation does not read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

import polars as pl
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vigil.correlate.codec import (
    alert_from_record,
    alert_record,
    note_from_record,
    note_record,
    part_from_record,
    part_record,
    utc,
)
from vigil.correlate.types import (
    CLOSED_STATUSES,
    EntityRole,
    Incident,
    IncidentEntity,
    IncidentNote,
    IncidentStatus,
    Risk,
    RiskLevel,
)
from vigil.detect.types import Alert, RuleMeta, Severity
from vigil.events.classes import DetectionFinding
from vigil.store.models import Alert as AlertRow
from vigil.store.models import Incident as IncidentRow
from vigil.store.models import IncidentAlert as IncidentAlertRow
from vigil.store.models import IncidentEntity as IncidentEntityRow
from vigil.store.models import IncidentStore as IncidentStoreRow

CHUNK = 500
"""Keys per IN (...) list."""


def alerts_from_rows(rows: Iterable[AlertRow]) -> list[Alert]:
    """Stored Detection Findings back as alerts (evidence rows left out: correlation needs none)."""
    alerts = []
    for row in rows:
        finding = DetectionFinding.model_validate(row.finding)
        info = finding.finding_info
        entities = next(
            (e.data for e in finding.evidences or [] if e.name == "entities" and e.data), {}
        )
        attacks = [a.technique.uid for a in info.attacks or [] if a.technique and a.technique.uid]
        score = row.score if row.score is not None else (finding.confidence_score or 0) / 100
        meta = RuleMeta(
            uid=row.rule_uid,
            title=row.title,
            severity=Severity(row.severity_id),
            confidence=finding.confidence_score or round(score * 100),
            explanation="",
            use_case=(info.types or [""])[0],
            attack=tuple(attacks),
        )
        time = utc(row.time)
        alerts.append(
            Alert(
                rule=meta,
                time=time,
                first_seen=utc(info.first_seen_time) if info.first_seen_time else time,
                entities={str(k): str(v) for k, v in entities.items() if v is not None},
                values={},
                evidence=pl.DataFrame(),
                score=score,
                explanation=row.explanation or "",
                event_class=(info.data_sources or [""])[0],
                uid=row.uid,
            )
        )
    return alerts


def write_incident(session: Session, incident: Incident) -> None:
    row = session.get(IncidentRow, incident.uid)
    if row is None:
        row = IncidentRow(uid=incident.uid, status=incident.status.value)
        session.add(row)
    elif incident.status is IncidentStatus.REOPENED and row.status in CLOSED_STATUSES:
        row.status = IncidentStatus.REOPENED.value
    row.opened_at = incident.opened_at
    row.updated_at = incident.updated_at
    row.title = incident.title[:500]
    row.risk = incident.risk.score
    row.risk_level = incident.risk.level.value
    row.explanation = incident.risk.explanation
    row.risk_parts = [part_record(part) for part in incident.risk.parts]
    row.store_uid = incident.stores[0] if len(incident.stores) == 1 else None
    row.stores = list(incident.stores)
    row.tactics = list(incident.tactics)
    row.first_seen = incident.first_seen
    row.last_seen = incident.last_seen
    row.closed_at = row.closed_at or incident.closed_at
    row.acknowledged_at = row.acknowledged_at or incident.acknowledged_at
    row.contained_at = row.contained_at or incident.contained_at
    row.severity_id = incident.severity
    row.notes = merge_notes(row.notes or [], incident.notes)
    row.merged_from = list(incident.merged_from)
    row.alert_count = len(incident.alerts)
    row.evidence_count = incident.evidence_count
    row.time_to_detect_s = incident.time_to_detect.total_seconds()
    contained = utc(row.contained_at) if row.contained_at else None
    row.dwell_s = ((contained or incident.last_seen) - incident.first_seen).total_seconds()
    session.execute(delete(IncidentEntityRow).where(IncidentEntityRow.incident_uid == incident.uid))
    session.execute(delete(IncidentAlertRow).where(IncidentAlertRow.incident_uid == incident.uid))
    session.execute(delete(IncidentStoreRow).where(IncidentStoreRow.incident_uid == incident.uid))
    session.flush()
    session.add_all(
        IncidentStoreRow(incident_uid=incident.uid, store_uid=store)
        for store in sorted(set(incident.stores))
    )
    session.add_all(
        IncidentEntityRow(
            incident_uid=incident.uid,
            kind=e.kind,
            scope=e.scope,
            value=e.value[:500],
            role=e.role.value,
            first_seen=e.first_seen,
            last_seen=e.last_seen,
            alerts=e.alerts,
        )
        for e in incident.entities
    )
    session.add_all(
        IncidentAlertRow(
            incident_uid=incident.uid,
            alert_uid=a.uid,
            signature=a.signature,
            rule_uid=a.rule_uid,
            time=a.time,
            last_time=a.latest,
            count=a.count,
            record=alert_record(a),
        )
        for a in incident.alerts
    )


def merge_notes(
    stored: list[dict[str, object]], notes: Sequence[IncidentNote]
) -> list[dict[str, object]]:
    """The stored notes (status changes people made) and the correlator's, once each, in time order."""
    known = {(str(n.get("at")), str(n.get("kind")), str(n.get("text"))) for n in stored}
    merged = list(stored)
    for note in notes:
        record = note_record(note)
        key = (str(record["at"]), str(record["kind"]), str(record["text"]))
        if key not in known:
            known.add(key)
            merged.append(record)
    return sorted(merged, key=lambda n: str(n.get("at")))


def incidents_of(session: Session, rows: list[IncidentRow]) -> list[Incident]:
    uids = [row.uid for row in rows]
    entities: dict[str, list[IncidentEntity]] = defaultdict(list)
    alerts: dict[str, list[IncidentAlertRow]] = defaultdict(list)
    for chunk in chunks(uids):
        query = select(IncidentEntityRow).where(IncidentEntityRow.incident_uid.in_(chunk))
        for e in session.scalars(query):
            entities[e.incident_uid].append(
                IncidentEntity(
                    e.kind,
                    e.value,
                    e.scope,
                    EntityRole(e.role),
                    utc(e.first_seen),
                    utc(e.last_seen),
                    e.alerts,
                )
            )
        query_alerts = select(IncidentAlertRow).where(IncidentAlertRow.incident_uid.in_(chunk))
        for a in session.scalars(query_alerts):
            alerts[a.incident_uid].append(a)
    return [_incident(row, entities[row.uid], alerts[row.uid]) for row in rows]


def _incident(
    row: IncidentRow, entities: list[IncidentEntity], alerts: list[IncidentAlertRow]
) -> Incident:
    folded = tuple(
        sorted(
            (
                alert_from_record(
                    a.alert_uid, a.rule_uid, a.signature, a.time, a.last_time, a.count, a.record
                )
                for a in alerts
            ),
            key=lambda a: (a.time, a.uid),
        )
    )
    opened = utc(row.opened_at)
    risk = Risk(
        row.risk,
        RiskLevel(row.risk_level or RiskLevel.LOW.value),
        tuple(part_from_record(part) for part in row.risk_parts or []),
        row.explanation or "",
    )
    return Incident(
        uid=row.uid,
        title=row.title,
        status=IncidentStatus(row.status),
        opened_at=opened,
        updated_at=utc(row.updated_at),
        first_seen=utc(row.first_seen) if row.first_seen else opened,
        last_seen=utc(row.last_seen) if row.last_seen else opened,
        alerts=folded,
        entities=tuple(sorted(entities, key=lambda e: (e.kind, e.scope, e.value))),
        stores=tuple(row.stores or ([row.store_uid] if row.store_uid else [])),
        tactics=tuple(row.tactics or []),
        risk=risk,
        notes=tuple(note_from_record(note) for note in row.notes or []),
        merged_from=tuple(row.merged_from or []),
        merged_into=row.merged_into,
        closed_at=utc(row.closed_at) if row.closed_at else None,
        acknowledged_at=utc(row.acknowledged_at) if row.acknowledged_at else None,
        contained_at=utc(row.contained_at) if row.contained_at else None,
    )


def chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield list(items[start : start + CHUNK])
