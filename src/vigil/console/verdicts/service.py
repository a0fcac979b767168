"""The verdict decisions learning trains on, read from the audit log (where every verdict,
single or bulk, is recorded with who set it and when) and joined to the incident's alerts.

Decisions come in audit order after a sequence number, so a learner reads them
incrementally; only decisions on incidents the reader may see are returned (the
queue's rule: every store of the incident in scope).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from vigil.console.auth.types import Scope
from vigil.console.incidents.queries import stores_of
from vigil.console.verdicts.types import VerdictDecision, VerdictPage
from vigil.correlate.codec import utc
from vigil.correlate.rows import chunks
from vigil.store.database import Database
from vigil.store.models import AuditEntry
from vigil.store.models import Incident as IncidentRow
from vigil.store.models import IncidentAlert as IncidentAlertRow

ACTION = "incident.verdict"
"""The audit action `set_verdict` records."""
MAX_LIMIT = 5000


def decisions(database: Database, scope: Scope, after: int, limit: int) -> VerdictPage:
    """Up to `limit` audit entries of verdicts after `after`, those in scope kept."""
    with database.session() as session:
        entries = list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == ACTION, AuditEntry.id > after)
                .order_by(AuditEntry.id)
                .limit(limit + 1)
            )
        )
        more = len(entries) > limit
        entries = entries[:limit]
        uids = sorted({entry.target for entry in entries if entry.target})
        stores: dict[str, tuple[str, ...]] = {}
        alerts: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for chunk in chunks(uids):
            for row in session.scalars(select(IncidentRow).where(IncidentRow.uid.in_(chunk))):
                stores[row.uid] = stores_of(row)
            query = (
                select(
                    IncidentAlertRow.incident_uid,
                    IncidentAlertRow.rule_uid,
                    IncidentAlertRow.alert_uid,
                )
                .where(IncidentAlertRow.incident_uid.in_(chunk))
                .order_by(IncidentAlertRow.time, IncidentAlertRow.alert_uid)
            )
            for incident_uid, rule_uid, alert_uid in session.execute(query):
                alerts[incident_uid].append((rule_uid, alert_uid))
    found = []
    for entry in entries:
        uid = entry.target
        if uid is None or uid not in stores or not scope.covers_all(stores[uid]):
            continue
        detail = entry.detail
        found.append(
            VerdictDecision(
                seq=entry.id,
                at=utc(entry.at),
                by=entry.actor,
                incident_uid=uid,
                verdict=str(detail.get("to")),
                previous=None if detail.get("from") is None else str(detail.get("from")),
                note=str(detail.get("note") or ""),
                stores=stores[uid],
                rule_uids=tuple(dict.fromkeys(rule for rule, _ in alerts[uid])),
                alert_uids=tuple(alert for _, alert in alerts[uid]),
            )
        )
    return VerdictPage(tuple(found), entries[-1].id if more else None)
