"""What correlation hands on: incidents with their alerts, entities, risk, notes and timeline.

The `Correlator` keeps mutable state of its own and hands out these frozen
snapshots; the service stores them, the CLI and the response stage read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class IncidentStatus(StrEnum):
    """Life cycle of an incident; response fills `acknowledged` and `contained`."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CONTAINED = "contained"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"
    """Folded into another incident (`merged_into`); kept so links to it still resolve."""


CLOSED_STATUSES = frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
"""Done with, but new evidence within the reopen window reopens them."""


class EntityRole(StrEnum):
    """Whether an entity folds alerts together or only describes the incident."""

    LINK = "link"
    CONTEXT = "context"


@dataclass(frozen=True)
class IncidentAlert:
    """One distinct finding of an incident; repeats of it (same rule and entities) only count."""

    uid: str
    rule_uid: str
    title: str
    use_case: str
    severity: int
    """OCSF severity_id, 1 informational to 5 critical."""
    score: float
    time: datetime
    first_seen: datetime
    entities: dict[str, str]
    attack: tuple[str, ...] = ()
    explanation: str = ""
    event_class: str = ""
    signature: str = ""
    """Hash of rule and entities: the key duplicates are counted under."""
    count: int = 1
    """This alert and its duplicates."""
    last_time: datetime | None = None
    """Event time of the newest duplicate (or of the alert itself)."""

    @property
    def store(self) -> str | None:
        return self.entities.get("store")

    @property
    def latest(self) -> datetime:
        return self.last_time or self.time


@dataclass(frozen=True)
class IncidentEntity:
    """An entity of an incident: who or what, in which store scope, seen when, in how many alerts."""

    kind: str
    value: str
    scope: str
    """The store a store-level key belongs to; empty for estate-wide keys (vendor, card, public IP)."""
    role: EntityRole
    first_seen: datetime
    last_seen: datetime
    alerts: int = 1


class NoteKind(StrEnum):
    OPENED = "opened"
    MERGED = "merged"
    REOPENED = "reopened"
    STATUS = "status"


@dataclass(frozen=True)
class IncidentNote:
    """Why the incident changed shape: opened, merged with another, reopened, status set."""

    at: datetime
    kind: NoteKind
    text: str


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class RiskPart:
    """One part of a risk score: a value 0-1, the points it can give at most, and why."""

    name: str
    value: float
    weight: float
    reason: str

    @property
    def points(self) -> float:
        return self.value * self.weight


@dataclass(frozen=True)
class Risk:
    """0-100, its level, the parts it is the sum of, and one sentence that says why."""

    score: float
    level: RiskLevel
    parts: tuple[RiskPart, ...]
    explanation: str


NO_RISK = Risk(0.0, RiskLevel.LOW, (), "Low: not scored yet")


@dataclass(frozen=True)
class Incident:
    """Alerts folded by shared entities and time, with their risk and history."""

    uid: str
    title: str
    status: IncidentStatus
    opened_at: datetime
    """Event time of the first alert: when detection knew."""
    updated_at: datetime
    first_seen: datetime
    """Event time of the earliest evidence: when the malicious activity began."""
    last_seen: datetime
    alerts: tuple[IncidentAlert, ...]
    entities: tuple[IncidentEntity, ...]
    stores: tuple[str, ...]
    tactics: tuple[str, ...]
    """ATT&CK tactics reached, in kill-chain order."""
    risk: Risk = NO_RISK
    notes: tuple[IncidentNote, ...] = ()
    merged_from: tuple[str, ...] = ()
    merged_into: str | None = None
    closed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    """Filled by the response stage."""
    contained_at: datetime | None = None
    """Filled by the response stage."""

    @property
    def severity(self) -> int:
        return max((alert.severity for alert in self.alerts), default=0)

    @property
    def evidence_count(self) -> int:
        """Alerts including duplicates."""
        return sum(alert.count for alert in self.alerts)

    @property
    def time_to_detect(self) -> timedelta:
        """First malicious event to first alert."""
        return max(self.opened_at - self.first_seen, timedelta(0))

    @property
    def dwell_time(self) -> timedelta:
        """First malicious event to containment, or to the newest evidence while not contained."""
        end = self.contained_at or self.last_seen
        return max(end - self.first_seen, timedelta(0))

    def values(self, kind: str) -> tuple[str, ...]:
        """The incident's entity values of one kind, sorted."""
        return tuple(sorted({e.value for e in self.entities if e.kind == kind}))


class ChangeKind(StrEnum):
    OPENED = "opened"
    GREW = "grew"
    DUPLICATE = "duplicate"
    MERGED = "merged"
    REOPENED = "reopened"


@dataclass(frozen=True)
class Change:
    """One thing an alert did to an incident."""

    kind: ChangeKind
    incident_uid: str
    alert_uid: str | None
    detail: str


@dataclass(frozen=True)
class Merge:
    """An incident folded into another one."""

    absorbed: str
    into: str
    reason: str


@dataclass(frozen=True)
class Changes:
    """What one `Correlator.update` did: the incidents it touched (as they are now) and how."""

    incidents: tuple[Incident, ...] = ()
    merges: tuple[Merge, ...] = ()
    log: tuple[Change, ...] = ()
    repeated: int = 0
    """Alerts whose uid the correlator had already folded (a replayed batch): ignored."""
    alert_incident: dict[str, str] = field(default_factory=dict)
    """Every alert of the batch (duplicates too) -> the incident it now belongs to."""

    @property
    def opened(self) -> int:
        return sum(change.kind is ChangeKind.OPENED for change in self.log)

    @property
    def duplicates(self) -> int:
        return sum(change.kind is ChangeKind.DUPLICATE for change in self.log)


# --- timeline -----------------------------------------------------------------------------


class EntryKind(StrEnum):
    ALERT = "alert"
    EVENT = "event"
    NOTE = "note"
    MORE = "more"
    """The cap marker: how many related events are not shown."""


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a forensic timeline."""

    time: datetime
    kind: EntryKind
    source: str
    """Event class (`network_activity`), rule uid for alerts, `incident` for notes."""
    store: str | None
    summary: str
    ref: str = ""
    """Alert uid or event `metadata.uid`, to find the full record."""


@dataclass(frozen=True)
class GraphNode:
    id: str
    kind: str
    """An entity kind (`device`, `ip`, ...), `store` or `alert`."""
    label: str


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    relation: str
    """`involves` (alert to entity), `in_store` (entity to store), `seen_with` (entity pair)."""
    weight: int = 1
    """How many alerts show the relation."""


@dataclass(frozen=True)
class EntityGraph:
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]


@dataclass(frozen=True)
class Timeline:
    """An incident's alerts, notes and related events in time order, capped, with its graph."""

    incident_uid: str
    entries: tuple[TimelineEntry, ...]
    graph: EntityGraph
    events_total: int
    events_shown: int

    @property
    def omitted(self) -> int:
        return self.events_total - self.events_shown
