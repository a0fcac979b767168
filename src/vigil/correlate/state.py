"""The correlator's mutable record of one incident, and the frozen snapshot it hands out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from vigil.correlate.attack import progression
from vigil.correlate.risk import RiskModel
from vigil.correlate.types import (
    EntityRole,
    Incident,
    IncidentAlert,
    IncidentEntity,
    IncidentNote,
    IncidentStatus,
)
from vigil.detect.types import Alert


@dataclass(frozen=True, order=True)
class EntityKey:
    """What links: a kind, the store it is scoped to (empty: estate-wide), a value."""

    kind: str
    scope: str
    value: str


def incident_uid(alert_uid: str) -> str:
    """Deterministic from the alert that opened it: a replay opens the same incident."""
    return "inc-" + hashlib.sha256(f"incident|{alert_uid}".encode()).hexdigest()[:20]


def signature(rule_uid: str, entities: dict[str, str]) -> str:
    """Same rule, same entities: a duplicate, whatever its time."""
    text = "|".join([rule_uid] + [f"{k}={entities[k]}" for k in sorted(entities)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def incident_alert(alert: Alert) -> IncidentAlert:
    """The part of a detection alert an incident keeps."""
    return IncidentAlert(
        uid=alert.uid,
        rule_uid=alert.rule.uid,
        title=alert.rule.title,
        use_case=alert.rule.use_case,
        severity=int(alert.rule.severity),
        score=alert.score,
        time=alert.time,
        first_seen=alert.first_seen,
        entities=dict(alert.entities),
        attack=tuple(alert.rule.attack),
        explanation=alert.explanation,
        event_class=alert.event_class,
        signature=signature(alert.rule.uid, alert.entities),
        count=1,
        last_time=alert.time,
    )


@dataclass
class IncidentState:
    """An incident while the correlator holds it."""

    uid: str
    status: IncidentStatus
    opened_at: datetime
    updated_at: datetime
    window: timedelta = timedelta(hours=2)
    """Repeats of a finding this close to its newest one only count."""
    alerts: dict[str, IncidentAlert] = field(default_factory=dict)
    """By the uid of the alert that started the row."""
    latest: dict[str, str] = field(default_factory=dict)
    """Signature -> the newest row of that finding."""
    entities: dict[EntityKey, IncidentEntity] = field(default_factory=dict)
    notes: list[IncidentNote] = field(default_factory=list)
    merged_from: list[str] = field(default_factory=list)
    alert_uids: set[str] = field(default_factory=set)
    """Every alert folded in, duplicates included: a replay of one is recognised."""
    closed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    contained_at: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def is_closed(self) -> bool:
        return self.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)

    def add(self, alert: IncidentAlert) -> bool:
        """Fold an alert in; True when it repeats a finding within the window (it only counts)."""
        self.alert_uids.add(alert.uid)
        self._seen(alert.first_seen, alert.time)
        self.opened_at = min(self.opened_at, alert.time)
        self.updated_at = max(self.updated_at, alert.time)
        known = self.repeated(alert)
        if known is None:
            self.alerts[alert.uid] = alert
            newest = self.alerts.get(self.latest.get(alert.signature, ""))
            if newest is None or (alert.time, alert.uid) > (newest.time, newest.uid):
                self.latest[alert.signature] = alert.uid
            return False
        self.alerts[known.uid] = replace(
            known,
            count=known.count + alert.count,
            first_seen=min(known.first_seen, alert.first_seen),
            last_time=max(known.latest, alert.latest),
        )
        return True

    def repeated(
        self, alert: IncidentAlert, window: timedelta | None = None
    ) -> IncidentAlert | None:
        """The row this alert repeats: same finding, within the window of its newest repeat."""
        known = self.alerts.get(self.latest.get(alert.signature, ""))
        span = self.window if window is None else window
        if known is None or alert.uid == known.uid:
            return None
        if known.first_seen - span <= alert.time and alert.first_seen <= known.latest + span:
            return known
        return None

    def touch(self, key: EntityKey, role: EntityRole, first: datetime, last: datetime) -> None:
        known = self.entities.get(key)
        if known is None:
            self.entities[key] = IncidentEntity(
                key.kind, key.value, key.scope, role, first, last, 1
            )
            return
        self.entities[key] = replace(
            known,
            role=EntityRole.LINK if EntityRole.LINK in (role, known.role) else role,
            first_seen=min(known.first_seen, first),
            last_seen=max(known.last_seen, last),
            alerts=known.alerts + 1,
        )

    def absorb(self, other: IncidentState) -> None:
        """Take over another incident's alerts, entities, notes and history."""
        for alert in other.alerts.values():
            self.add(alert)
        self.alert_uids |= other.alert_uids
        for key, entity in other.entities.items():
            known = self.entities.get(key)
            self.entities[key] = entity if known is None else _union(known, entity)
        self.notes.extend(other.notes)
        self.merged_from.extend([other.uid, *other.merged_from])

    def _seen(self, first: datetime, last: datetime) -> None:
        self.first_seen = first if self.first_seen is None else min(self.first_seen, first)
        self.last_seen = last if self.last_seen is None else max(self.last_seen, last)

    def snapshot(self, risk: RiskModel) -> Incident:
        alerts = tuple(sorted(self.alerts.values(), key=lambda a: (a.time, a.uid)))
        stores = tuple(sorted({a.store for a in alerts if a.store}))
        incident = Incident(
            uid=self.uid,
            title=_title(alerts, stores),
            status=self.status,
            opened_at=self.opened_at,
            updated_at=self.updated_at,
            first_seen=self.first_seen or self.opened_at,
            last_seen=self.last_seen or self.opened_at,
            alerts=alerts,
            entities=tuple(sorted(self.entities.values(), key=_entity_order)),
            stores=stores,
            tactics=progression(t for a in alerts for t in a.attack),
            notes=tuple(sorted(self.notes, key=lambda n: n.at)),
            merged_from=tuple(sorted(set(self.merged_from))),
            closed_at=self.closed_at,
            acknowledged_at=self.acknowledged_at,
            contained_at=self.contained_at,
        )
        return replace(incident, risk=risk.score(incident))

    @classmethod
    def restore(cls, incident: Incident, window: timedelta) -> IncidentState:
        state = cls(
            uid=incident.uid,
            window=window,
            status=incident.status,
            opened_at=incident.opened_at,
            updated_at=incident.updated_at,
            notes=list(incident.notes),
            merged_from=list(incident.merged_from),
            closed_at=incident.closed_at,
            acknowledged_at=incident.acknowledged_at,
            contained_at=incident.contained_at,
            first_seen=incident.first_seen,
            last_seen=incident.last_seen,
        )
        for alert in sorted(incident.alerts, key=lambda a: (a.time, a.uid)):
            state.alerts[alert.uid] = alert
            state.latest[alert.signature] = alert.uid
            state.alert_uids.add(alert.uid)
        for entity in incident.entities:
            state.entities[EntityKey(entity.kind, entity.scope, entity.value)] = entity
        return state


def _union(a: IncidentEntity, b: IncidentEntity) -> IncidentEntity:
    return replace(
        a,
        role=EntityRole.LINK if EntityRole.LINK in (a.role, b.role) else a.role,
        first_seen=min(a.first_seen, b.first_seen),
        last_seen=max(a.last_seen, b.last_seen),
        alerts=a.alerts + b.alerts,
    )


def _entity_order(entity: IncidentEntity) -> tuple[str, str, str]:
    return (entity.kind, entity.scope, entity.value)


def _title(alerts: tuple[IncidentAlert, ...], stores: tuple[str, ...]) -> str:
    """The most severe finding (the earliest of those), how many more, and where."""
    if not alerts:
        return "(no alerts)"
    top = min(alerts, key=lambda a: (-a.severity, a.time, a.uid))
    rules = {a.rule_uid for a in alerts} - {top.rule_uid}
    title = top.title
    if rules:
        title += f" (+{len(rules)} more finding{'s' * (len(rules) != 1)})"
    if len(stores) > 1:
        title += f" across {len(stores)} stores"
    elif stores:
        title += f" in store {stores[0]}"
    return title
