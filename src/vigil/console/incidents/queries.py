"""The incident queue in SQL: filters, scope and a keyset cursor over (risk desc, uid).

A cursor is the last row's risk and uid, base64-encoded: the next page starts
strictly after it, so pages neither skip nor repeat rows while incidents are
added. Single-store incidents are scoped in SQL; the few without one store
(estate-wide, or several stores) are checked row by row: a scoped user sees
an incident only when every one of its stores is in scope.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence

from sqlalchemy import Select, String, and_, cast, or_, select
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

MAX_LIMIT = 200


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
        query = query.where(
            or_(
                IncidentRow.store_uid == wanted.store,
                and_(
                    IncidentRow.store_uid.is_(None),
                    cast(IncidentRow.stores, String).like(
                        _like(json.dumps(wanted.store)), escape="\\"
                    ),
                ),
            )
        )
    if not scope.everything:
        query = query.where(
            or_(IncidentRow.store_uid.in_(sorted(scope.stores)), IncidentRow.store_uid.is_(None))
        )
    return query.order_by(IncidentRow.risk.desc(), IncidentRow.uid)


def page(database: Database, scope: Scope, wanted: IncidentFilter) -> IncidentPage:
    """One page of the queue, highest risk first, in scope only."""
    limit = max(1, min(wanted.limit, MAX_LIMIT))
    base = _filtered(scope, wanted)
    after = decode_cursor(wanted.cursor) if wanted.cursor else None
    found: list[IncidentRow] = []
    more = False
    with database.session() as session:
        while True:
            query = base
            if after is not None:
                risk, uid = after
                query = query.where(
                    or_(
                        IncidentRow.risk < risk,
                        and_(IncidentRow.risk == risk, IncidentRow.uid > uid),
                    )
                )
            batch = list(session.scalars(query.limit(limit + 1)))
            found += [row for row in batch if scope.covers_all(stores_of(row))]
            if len(found) > limit:
                more = True
                break
            if len(batch) <= limit:
                break
            after = (batch[-1].risk, batch[-1].uid)
        rows = found[:limit]
        items = summaries(session, rows)
    cursor = encode_cursor(rows[-1].risk, rows[-1].uid) if more and rows else None
    return IncidentPage(tuple(items), cursor)


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
