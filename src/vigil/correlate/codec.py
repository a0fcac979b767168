"""Incidents as JSON-ready records and back: for the database's JSON columns and evidence bundles.

Times are ISO 8601 in UTC. Reading is strict: a record that lacks a field or
holds the wrong type raises `CorrelateError` naming it, instead of a half
incident.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from vigil.correlate.errors import CorrelateError
from vigil.correlate.types import (
    Incident,
    IncidentAlert,
    IncidentEntity,
    IncidentNote,
    NoteKind,
    RiskPart,
)

JsonRecord = dict[str, object]
"""A JSON-ready mapping: what a JSON column or file holds, at the storage edge only."""


def utc(moment: datetime) -> datetime:
    """Aware, in UTC (SQLite hands datetimes back naive: they were stored in UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc(moment).isoformat()


def alert_record(alert: IncidentAlert) -> JsonRecord:
    """The alert's fields the database's columns do not hold already."""
    return {
        "title": alert.title,
        "use_case": alert.use_case,
        "severity": alert.severity,
        "score": alert.score,
        "first_seen": iso(alert.first_seen),
        "entities": dict(alert.entities),
        "attack": list(alert.attack),
        "explanation": alert.explanation,
        "event_class": alert.event_class,
    }


def alert_from_record(
    uid: str,
    rule_uid: str,
    signature: str,
    time: datetime,
    last_time: datetime,
    count: int,
    record: Mapping[str, object],
) -> IncidentAlert:
    entities = record.get("entities")
    if not isinstance(entities, Mapping):
        raise CorrelateError(f"incident alert {uid}: entities is not a mapping")
    return IncidentAlert(
        uid=uid,
        rule_uid=rule_uid,
        title=_text(record, "title", uid),
        use_case=_text(record, "use_case", uid),
        severity=int(_number(record, "severity", uid)),
        score=float(_number(record, "score", uid)),
        time=utc(time),
        first_seen=_moment(record, "first_seen", uid),
        entities={str(k): str(v) for k, v in entities.items()},
        attack=tuple(str(t) for t in _list(record, "attack")),
        explanation=_text(record, "explanation", uid),
        event_class=_text(record, "event_class", uid),
        signature=signature,
        count=count,
        last_time=utc(last_time),
    )


def note_record(note: IncidentNote) -> JsonRecord:
    return {"at": iso(note.at), "kind": note.kind.value, "text": note.text}


def note_from_record(record: Mapping[str, object]) -> IncidentNote:
    return IncidentNote(
        at=_moment(record, "at", "note"),
        kind=NoteKind(_text(record, "kind", "note")),
        text=_text(record, "text", "note"),
    )


def part_record(part: RiskPart) -> JsonRecord:
    return {
        "name": part.name,
        "value": round(part.value, 4),
        "weight": part.weight,
        "points": round(part.points, 2),
        "reason": part.reason,
    }


def part_from_record(record: Mapping[str, object]) -> RiskPart:
    return RiskPart(
        name=_text(record, "name", "risk part"),
        value=float(_number(record, "value", "risk part")),
        weight=float(_number(record, "weight", "risk part")),
        reason=_text(record, "reason", "risk part"),
    )


def entity_record(entity: IncidentEntity) -> JsonRecord:
    return {
        "kind": entity.kind,
        "value": entity.value,
        "scope": entity.scope,
        "role": entity.role.value,
        "first_seen": iso(entity.first_seen),
        "last_seen": iso(entity.last_seen),
        "alerts": entity.alerts,
    }


def incident_record(incident: Incident) -> JsonRecord:
    """The whole incident, for `incident.json` of an evidence bundle."""
    return {
        "uid": incident.uid,
        "title": incident.title,
        "status": incident.status.value,
        "opened_at": iso(incident.opened_at),
        "updated_at": iso(incident.updated_at),
        "first_seen": iso(incident.first_seen),
        "last_seen": iso(incident.last_seen),
        "closed_at": iso(incident.closed_at),
        "acknowledged_at": iso(incident.acknowledged_at),
        "contained_at": iso(incident.contained_at),
        "stores": list(incident.stores),
        "tactics": list(incident.tactics),
        "severity": incident.severity,
        "risk": {
            "score": incident.risk.score,
            "level": incident.risk.level.value,
            "explanation": incident.risk.explanation,
            "parts": [part_record(part) for part in incident.risk.parts],
        },
        "metrics": {
            "time_to_detect_s": incident.time_to_detect.total_seconds(),
            "dwell_s": incident.dwell_time.total_seconds(),
            "alerts": len(incident.alerts),
            "evidence": incident.evidence_count,
        },
        "alerts": [
            {
                "uid": a.uid,
                "rule": a.rule_uid,
                "time": iso(a.time),
                "count": a.count,
                "last_time": iso(a.latest),
                **alert_record(a),
            }
            for a in incident.alerts
        ],
        "entities": [entity_record(entity) for entity in incident.entities],
        "notes": [note_record(note) for note in incident.notes],
        "merged_from": list(incident.merged_from),
    }


def _text(record: Mapping[str, object], name: str, where: str) -> str:
    value = record.get(name, "")
    if not isinstance(value, str):
        raise CorrelateError(f"{where}: {name} is not text")
    return value


def _number(record: Mapping[str, object], name: str, where: str) -> float:
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CorrelateError(f"{where}: {name} is not a number")
    return float(value)


def _moment(record: Mapping[str, object], name: str, where: str) -> datetime:
    value = record.get(name)
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError as error:
        raise CorrelateError(f"{where}: {name} is not an ISO time ({value!r})") from error


def _list(record: Mapping[str, object], name: str) -> list[object]:
    value = record.get(name)
    return list(value) if isinstance(value, list | tuple) else []
