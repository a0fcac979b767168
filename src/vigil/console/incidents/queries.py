"""The incident queue in SQL: filters, scope and a keyset cursor over (risk desc, uid).

A cursor is the last row's risk and uid, base64-encoded: the next page starts
strictly after it, so pages neither skip nor repeat rows while incidents are
added; the index on (risk desc, uid) serves both the order and the cursor.
Scope is applied in SQL through `incident_stores`: a scoped user sees an
incident only when it has a store and every one of its stores is in scope
(estate-wide incidents are only for `*`), the rule of `Scope.covers_all`, which
the rows are checked against once more before they leave.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import Session

from vigil.console.auth.types import Scope
from vigil.console.errors import BadRequestError, NotFoundError
from vigil.console.incidents.types import IncidentFilter, IncidentPage, IncidentSummary
from vigil.correlate.codec import utc
from vigil.correlate.rows import chunks
from vigil.correlate.types import IncidentStatus
from vigil.store.database import Database
from vigil.store.models import Incident as IncidentRow
from vigil.store.models import IncidentAlert as IncidentAlertRow
from vigil.store.models import IncidentStore as IncidentStoreRow

MAX_LIMIT = 200
STATISTICS_EVERY = timedelta(minutes=10)
"""How often the queue lets SQLite check its statistics while the console runs (its
plan depends on them; `Database.refresh_statistics`)."""


def stores_of(row: IncidentRow) -> tuple[str, ...]:
    return tuple(row.stores or ([row.store_uid] if row.store_uid else []))


def encode_cursor(risk: float, uid: str) -> str:
    raw = json.dumps([risk, uid], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        risk, uid = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if isinstance(risk, bool) or not isinstance(risk, int | float) or not isinstance(uid, str):
            raise ValueError("wrong types")
    except (ValueError, TypeError, binascii.Error) as error:
        raise BadRequestError("invalid cursor: pass next_cursor as it was returned") from error
    return float(risk), uid


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _of_stores(stores: Sequence[str]) -> ColumnElement[bool]:
    """Incidents with at least one of `stores`."""
    having = select(IncidentStoreRow.incident_uid).where(IncidentStoreRow.store_uid.in_(stores))
    return IncidentRow.uid.in_(having)


def _in_scope(scope: Scope) -> ColumnElement[bool]:
    """`scope.covers_all(stores_of(row))` in SQL: some store, and none outside the scope."""
    stores = sorted(scope.stores)
    outside = exists().where(
        IncidentStoreRow.incident_uid == IncidentRow.uid, IncidentStoreRow.store_uid.not_in(stores)
    )
    return and_(_of_stores(stores), ~outside)


def _filtered(scope: Scope, wanted: IncidentFilter) -> Select[IncidentRow]:
    query = select(IncidentRow).where(IncidentRow.status.in_([s.value for s in wanted.statuses]))
    if wanted.min_risk is not None:
        query = query.where(IncidentRow.risk >= wanted.min_risk)
    if wanted.text:
        query = query.where(
            or_(
                IncidentRow.title.ilike(_like(wanted.text), escape="\\"),
                IncidentRow.uid.startswith(wanted.text, autoescape=True),
            )
        )
    if wanted.store:
        query = query.where(_of_stores([wanted.store]))
    if not scope.everything:
        query = query.where(_in_scope(scope))
    return query.order_by(IncidentRow.risk.desc(), IncidentRow.uid)


def page(database: Database, scope: Scope, wanted: IncidentFilter) -> IncidentPage:
    """One page of the queue, highest risk first, in scope only."""
    limit = max(1, min(wanted.limit, MAX_LIMIT))
    query = _filtered(scope, wanted)
    if wanted.cursor:
        risk, uid = decode_cursor(wanted.cursor)
        query = query.where(  # the first term alone is a range the risk index can seek to
            IncidentRow.risk <= risk,
            or_(IncidentRow.risk < risk, and_(IncidentRow.risk == risk, IncidentRow.uid > uid)),
        )
    database.refresh_statistics(unless_within=STATISTICS_EVERY)
    with database.session() as session:
        batch = list(session.scalars(query.limit(limit + 1)))
        rows = [row for row in batch[:limit] if scope.covers_all(stores_of(row))]
        items = summaries(session, rows)
    last = batch[limit - 1] if len(batch) > limit else None
    return IncidentPage(tuple(items), encode_cursor(last.risk, last.uid) if last else None)


def summaries(session: Session, rows: Sequence[IncidentRow]) -> list[IncidentSummary]:
    """Queue lines for these rows; the use case is the most severe alert's."""
    use_cases: dict[str, tuple[int, str]] = {}
    for chunk in chunks([row.uid for row in rows]):
        query = select(IncidentAlertRow.incident_uid, IncidentAlertRow.record).where(
            IncidentAlertRow.incident_uid.in_(chunk)
        )
        for incident_uid, record in session.execute(query):
            severity = record.get("severity")
            rank = severity if isinstance(severity, int) else 0
            if rank >= use_cases.get(incident_uid, (-1, ""))[0]:
                use_cases[incident_uid] = (rank, str(record.get("use_case") or ""))
    return [
        IncidentSummary(
            uid=row.uid,
            title=row.title,
            status=IncidentStatus(row.status),
            risk=row.risk,
            risk_level=row.risk_level or "low",
            use_case=use_cases.get(row.uid, (0, ""))[1],
            stores=stores_of(row),
            alerts=row.alert_count,
            opened_at=utc(row.opened_at),
            updated_at=utc(row.updated_at),
            assignee=row.assignee,
            verdict=row.verdict,
        )
        for row in rows
    ]


def visible(session: Session, scope: Scope, uid: str) -> IncidentRow:
    """The incident row if it exists and is in scope; 404 alike for both misses."""
    row = session.get(IncidentRow, uid)
    if row is None or not scope.covers_all(stores_of(row)):
        raise NotFoundError(f"no incident {uid!r}")
    return row


def summary(database: Database, scope: Scope, uid: str) -> IncidentSummary:
    with database.session() as session:
        return summaries(session, [visible(session, scope, uid)])[0]
