"""The estate overview: every store in scope with its telemetry health and open incidents.

Health comes from the lake in one query over the last two days' partitions
(newest event and events in the last hour per store), reused for
`health_ttl`, so listing 2,000 stores costs two aggregate queries, not 2,000.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.console.auth.types import Scope
from vigil.console.lakeread import CLASS_COLUMNS, read
from vigil.console.state import Console
from vigil.console.stores.types import Activity, HealthStatus, StoreSummary
from vigil.correlate.codec import utc
from vigil.correlate.types import IncidentStatus
from vigil.store.models import Incident as IncidentRow

OPEN = (
    IncidentStatus.NEW,
    IncidentStatus.ACKNOWLEDGED,
    IncidentStatus.CONTAINED,
    IncidentStatus.REOPENED,
)
FRESH = timedelta(minutes=15)
"""Newest event at most this old: ok."""
STALE = timedelta(hours=1)
"""Older than this: silent; between FRESH and STALE: degraded."""
LOOKBACK = timedelta(days=2)
NO_ACTIVITY = Activity(None, 0)


def health_of(activity: Activity, now: datetime) -> HealthStatus:
    if activity.last_event_at is None:
        return HealthStatus.UNKNOWN
    age = now - activity.last_event_at
    if age <= FRESH:
        return HealthStatus.OK
    return HealthStatus.DEGRADED if age <= STALE else HealthStatus.SILENT


def store_activity(console: Console) -> dict[str, Activity]:
    """Per store: newest event time and events in the last hour, cached for `health_ttl`."""
    now = console.now()
    cached = console.cache.get("activity")
    if cached is not None and now - cached[0] < console.settings.health_ttl:
        found: dict[str, Activity] = cached[1]  # type: ignore[assignment]
        return found
    if not console.lake.root.exists():
        return {}
    day, hour_ago = (now - LOOKBACK).date(), now - timedelta(hours=1)
    parts, params = [], []
    for name, columns in sorted(CLASS_COLUMNS.items()):
        if "store.uid" not in columns:
            continue
        # Class names come from the event model; the values are bound.
        parts.append(
            f'SELECT "store.uid" AS s, max(time) AS last, count(*) FILTER (WHERE time >= ?) AS n '  # noqa: S608
            f'FROM "{name}" WHERE day >= ? AND "store.uid" IS NOT NULL GROUP BY 1'
        )
        params += [hour_ago, day]
    sql = f"SELECT s, max(last), sum(n) FROM ({' UNION ALL '.join(parts)}) GROUP BY s"  # noqa: S608
    table = read(console.lake, sql, params)
    found = {
        str(store): Activity(utc(last) if last is not None else None, int(count or 0))
        for store, last, count in zip(*(table.column(i).to_pylist() for i in range(3)), strict=True)
    }
    console.cache["activity"] = (now, found)
    return found


def open_incidents(console: Console) -> dict[str, tuple[int, float]]:
    """Per store: open incidents and their highest risk (several-store incidents count in each).

    Counting scans every open incident (a third of a second at 80,000), so the result is
    kept until an incident changes: the newest `changed_at` (an index lookup) says when.
    """
    with console.database.session() as session:
        version = session.scalar(select(func.max(IncidentRow.changed_at)))
        cached = console.cache.get("open_incidents")
        if cached is not None and version is not None and cached[0] == version:
            kept: dict[str, tuple[int, float]] = cached[1]  # type: ignore[assignment]
            return kept
        found = _count_open(session)
    if version is not None:
        console.cache["open_incidents"] = (version, found)
    return found


def _count_open(session: Session) -> dict[str, tuple[int, float]]:
    counts: dict[str, int] = defaultdict(int)
    risks: dict[str, float] = defaultdict(float)
    statuses = [status.value for status in OPEN]
    single = (
        select(IncidentRow.store_uid, func.count(), func.max(IncidentRow.risk))
        .where(IncidentRow.status.in_(statuses), IncidentRow.store_uid.is_not(None))
        .group_by(IncidentRow.store_uid)
    )
    for store, count, risk in session.execute(single):
        if store is None:
            continue
        counts[store] += count
        risks[store] = max(risks[store], risk or 0.0)
    several = select(IncidentRow.stores, IncidentRow.risk).where(
        IncidentRow.status.in_(statuses), IncidentRow.store_uid.is_(None)
    )
    for stores, risk in session.execute(several):
        for store in stores or []:
            counts[store] += 1
            risks[store] = max(risks[store], risk or 0.0)
    return {store: (counts[store], risks[store]) for store in counts}


def list_stores(
    console: Console, scope: Scope, region: str | None, text: str | None
) -> list[StoreSummary]:
    """Stores in scope, by region then uid, with health and open incidents."""
    estate = console.estate
    if estate is None:
        return []
    now = console.now()
    activity = store_activity(console)
    incidents = open_incidents(console)
    needle = (text or "").strip().lower()
    found = []
    for area in estate.regions:
        if region and area.uid != region:
            continue
        for store in area.stores:
            if not scope.covers(store.uid):
                continue
            words = f"{store.uid} {store.name} {store.city or ''}".lower()
            if needle and needle not in words:
                continue
            seen = activity.get(store.uid, NO_ACTIVITY)
            count, risk = incidents.get(store.uid, (0, 0.0))
            found.append(
                StoreSummary(
                    uid=store.uid,
                    name=store.name,
                    region=area.uid,
                    open=estate.is_open(store, now),
                    status=health_of(seen, now),
                    activity=seen,
                    incidents_open=count,
                    risk_max=risk,
                )
            )
    return found
