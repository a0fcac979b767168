"""Incidents in the operational database: load the correlator's state, store its changes.

Writes are idempotent: an incident row is replaced by its newest snapshot
(entities and distinct alerts with it), alerts get their `incident_uid`, and
merged incidents stay as `merged` rows pointing at the one that took them in.
The correlator owns an incident's shape and risk; people and the response
stage own its status: a stored status other than `new` is kept, except when
the correlator reopens a closed incident.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select, update

from vigil.correlate.codec import utc
from vigil.correlate.config import CorrelateConfig
from vigil.correlate.errors import IncidentStateError, UnknownIncidentError
from vigil.correlate.fold import Correlator
from vigil.correlate.rows import alerts_from_rows, chunks, incidents_of, merge_notes, write_incident
from vigil.correlate.types import (
    CLOSED_STATUSES,
    ChangeKind,
    Changes,
    Incident,
    IncidentNote,
    IncidentStatus,
    NoteKind,
)
from vigil.detect.types import Alert
from vigil.estate import Estate
from vigil.store.database import Database
from vigil.store.models import Alert as AlertRow
from vigil.store.models import Incident as IncidentRow
from vigil.store.models import IncidentAlert as IncidentAlertRow
from vigil.store.models import IncidentEntity as IncidentEntityRow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CorrelateRun:
    """What correlating the stored alerts did."""

    alerts: int
    opened: int
    grew: int
    duplicates: int
    merged: int
    reopened: int
    incidents: int
    """Incidents touched."""


# --- alerts --------------------------------------------------------------------------------


def read_alerts(database: Database, unassigned: bool = False) -> list[Alert]:
    """Stored alerts in event-time order (only those in no incident yet, with `unassigned`)."""
    query = select(AlertRow).order_by(AlertRow.time, AlertRow.uid)
    if unassigned:
        query = query.where(AlertRow.incident_uid.is_(None))
    with database.session() as session:
        return alerts_from_rows(session.scalars(query))


def findings(database: Database, uids: Sequence[str]) -> list[dict[str, object]]:
    """The stored OCSF findings of these alerts (and of alerts folded in as their duplicates)."""
    with database.session() as session:
        rows = [
            row
            for chunk in chunks(uids)
            for row in session.scalars(select(AlertRow).where(AlertRow.uid.in_(chunk)))
        ]
    return [row.finding for row in sorted(rows, key=lambda r: (utc(r.time), r.uid))]


def incident_alert_uids(database: Database, incident_uid: str) -> list[str]:
    """Every stored alert folded into the incident, duplicates included."""
    with database.session() as session:
        query = select(AlertRow.uid).where(AlertRow.incident_uid == incident_uid)
        return sorted(session.scalars(query))


# --- incidents -----------------------------------------------------------------------------


def save(database: Database, changes: Changes) -> int:
    """Store what an update did; returns the number of incident rows written."""
    final = _final_targets(changes)
    with database.session() as session:
        for incident in changes.incidents:
            write_incident(session, incident)
        session.flush()
        for absorbed, into in final.items():
            row = session.get(IncidentRow, absorbed)
            if row is None:
                continue  # opened and merged within one batch: never stored
            row.status = IncidentStatus.MERGED.value
            row.merged_into = into
            session.execute(
                delete(IncidentEntityRow).where(IncidentEntityRow.incident_uid == absorbed)
            )
            session.execute(
                delete(IncidentAlertRow).where(IncidentAlertRow.incident_uid == absorbed)
            )
            session.execute(
                update(AlertRow).where(AlertRow.incident_uid == absorbed).values(incident_uid=into)
            )
        by_incident: dict[str, list[str]] = defaultdict(list)
        for alert_uid, uid in changes.alert_incident.items():
            by_incident[final.get(uid, uid)].append(alert_uid)
        for uid, alert_uids in by_incident.items():
            for chunk in chunks(alert_uids):
                session.execute(
                    update(AlertRow).where(AlertRow.uid.in_(chunk)).values(incident_uid=uid)
                )
    return len(changes.incidents)


def _final_targets(changes: Changes) -> dict[str, str]:
    """Absorbed incident -> the incident that holds it at the end of the batch."""
    into = {merge.absorbed: merge.into for merge in changes.merges}
    final = {}
    for absorbed, first in into.items():
        target = first
        while target in into:
            target = into[target]
        final[absorbed] = target
    return final


def load(database: Database, uids: Sequence[str]) -> list[Incident]:
    """These incidents as stored, in the order asked (unknown uids are left out)."""
    with database.session() as session:
        rows = {
            row.uid: row
            for chunk in chunks(uids)
            for row in session.scalars(select(IncidentRow).where(IncidentRow.uid.in_(chunk)))
        }
        return incidents_of(session, [rows[uid] for uid in uids if uid in rows])


def get(database: Database, uid: str) -> Incident:
    """One incident by uid, or by a prefix of it that matches only one (as the CLI prints them)."""
    with database.session() as session:
        row = session.get(IncidentRow, uid)
        if row is None:
            query = select(IncidentRow).where(IncidentRow.uid.startswith(uid, autoescape=True))
            found = list(session.scalars(query.limit(2)))
            if len(found) != 1:
                what = "no incident" if not found else "several incidents"
                raise UnknownIncidentError(f"{what} matching {uid!r}")
            row = found[0]
        return incidents_of(session, [row])[0]


def list_incidents(
    database: Database, statuses: Sequence[IncidentStatus] | None = None, limit: int = 50
) -> list[Incident]:
    """Incidents by risk, highest first (merged ones left out unless asked for)."""
    wanted = (
        [s.value for s in statuses]
        if statuses
        else [s.value for s in IncidentStatus if s is not IncidentStatus.MERGED]
    )
    query = (
        select(IncidentRow)
        .where(IncidentRow.status.in_(wanted))
        .order_by(IncidentRow.risk.desc(), IncidentRow.opened_at, IncidentRow.uid)
        .limit(limit)
    )
    with database.session() as session:
        return incidents_of(session, list(session.scalars(query)))


def set_status(
    database: Database, uid: str, status: IncidentStatus, actor: str, at: datetime | None = None
) -> Incident:
    """Set an incident's status (closing starts its reopen window); recorded in the audit log."""
    if status is IncidentStatus.MERGED:
        raise IncidentStateError("incidents are merged by the correlator, not by a status")
    moment = at or datetime.now(UTC)
    incident = get(database, uid)
    with database.session() as session:
        row = session.get(IncidentRow, incident.uid)
        if row is None or row.status == IncidentStatus.MERGED.value:
            raise IncidentStateError(
                f"incident {incident.uid} was merged into {incident.merged_into}"
            )
        previous = row.status
        row.status = status.value
        if status in CLOSED_STATUSES:
            row.closed_at = moment
        elif status is IncidentStatus.ACKNOWLEDGED:
            row.acknowledged_at = row.acknowledged_at or moment
        elif status is IncidentStatus.CONTAINED:
            row.contained_at = row.contained_at or moment
        note = IncidentNote(moment, NoteKind.STATUS, f"Status set to {status} by {actor}.")
        row.notes = merge_notes(row.notes or [], [note])
    database.audit(actor, "incident.status", incident.uid, {"from": previous, "to": status.value})
    return get(database, incident.uid)


# --- the correlator over the database -----------------------------------------------------


def restore(database: Database, correlator: Correlator, since: datetime) -> int:
    """Load the incidents alerts from `since` on can still reach; returns how many."""
    config = correlator.config
    horizon = utc(since) - config.keep_for
    reopen = utc(since) - config.reopen_window
    query = select(IncidentRow).where(
        IncidentRow.status != IncidentStatus.MERGED.value,
        (IncidentRow.last_seen >= horizon) | (IncidentRow.closed_at >= reopen),
    )
    with database.session() as session:
        incidents = incidents_of(session, list(session.scalars(query)))
        uids = [incident.uid for incident in incidents]
        folded = {
            alert: incident
            for chunk in chunks(uids)
            for alert, incident in session.execute(
                select(AlertRow.uid, AlertRow.incident_uid).where(AlertRow.incident_uid.in_(chunk))
            )
            if incident is not None
        }
    correlator.restore(incidents, folded)
    return len(incidents)


def start(
    database: Database,
    estate: Estate | None = None,
    config: CorrelateConfig | None = None,
    since: datetime | None = None,
) -> Correlator:
    """A correlator holding the stored incidents new alerts can still reach, for the live
    pipeline's start-up; `since` defaults to the newest stored evidence."""
    correlator = Correlator(config, estate)
    if since is None:
        with database.session() as session:
            newest = session.scalar(select(func.max(IncidentRow.last_seen)))
        if newest is None:
            return correlator
        since = utc(newest)
    restore(database, correlator, since)
    return correlator


def fold(database: Database, correlator: Correlator, alerts: Sequence[Alert]) -> Changes:
    """One live batch: fold the alerts (stored already by detection) and store the changes."""
    changes = correlator.update(alerts)
    save(database, changes)
    return changes


def correlate_stored(
    database: Database,
    estate: Estate | None = None,
    config: CorrelateConfig | None = None,
    batch: int = 2000,
) -> CorrelateRun:
    """Fold every stored alert not in an incident yet, oldest first, and store the result."""
    alerts = read_alerts(database, unassigned=True)
    if not alerts:
        return CorrelateRun(0, 0, 0, 0, 0, 0, 0)
    correlator = Correlator(config, estate)
    restored = restore(database, correlator, alerts[0].first_seen)
    logger.info("correlating %d alert(s) with %d incident(s) restored", len(alerts), restored)
    counts: dict[ChangeKind, int] = defaultdict(int)
    touched: set[str] = set()
    absorbed: set[str] = set()
    for start in range(0, len(alerts), batch):
        changes = correlator.update(alerts[start : start + batch])
        save(database, changes)
        for change in changes.log:
            counts[change.kind] += 1
        touched |= {incident.uid for incident in changes.incidents}
        absorbed |= {merge.absorbed for merge in changes.merges}
    return CorrelateRun(
        alerts=len(alerts),
        opened=counts[ChangeKind.OPENED],
        grew=counts[ChangeKind.GREW],
        duplicates=counts[ChangeKind.DUPLICATE],
        merged=counts[ChangeKind.MERGED],
        reopened=counts[ChangeKind.REOPENED],
        incidents=len(touched - absorbed),
    )
