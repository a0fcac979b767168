"""An incident's forensic timeline: its alerts, its notes and the related raw events, in order.

Related events are read from the lake, every class, in the incident's time
range (padded), where an entity column holds one of the incident's linking
entities (an address, a device, a user, a cashier, a card, a domain), scoped
to the entity's store where it has one. Door and video events carry no such
keys (a camera, a door), so for them, and for incidents whose alerts name only
a store (after-hours entry), every event of those stores in the range counts.
The timeline shows at most `limit` events, then a marker with how many more.

>>> events = related_events(Lake(root), incident)        # doctest: +SKIP
>>> timeline = build_timeline(incident, events)          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from vigil.correlate.errors import TimelineError
from vigil.correlate.graph import entity_graph
from vigil.correlate.keys import FINDING
from vigil.correlate.types import (
    EntityRole,
    EntryKind,
    Incident,
    IncidentEntity,
    Timeline,
    TimelineEntry,
)
from vigil.events import EVENT_CLASSES, short_name
from vigil.events.columns import arrow_schema
from vigil.store.lake import Lake

PAD = timedelta(minutes=15)
"""Events this long before the first and after the last evidence still belong."""
LIMIT = 200
EXPORT_LIMIT = 100_000
"""Rows per class an evidence bundle holds at most."""
STORE_WIDE = frozenset({"door_access", "video_observation"})
ENTITY_COLUMNS = {
    "ip": ("src_endpoint.ip", "dst_endpoint.ip", "device.ip", "camera.ip"),
    "device": ("device.uid", "src_endpoint.uid", "dst_endpoint.uid", "camera.uid", "door.uid"),
    "user": ("user.name", "user.uid", "actor.user.name", "actor.user.uid"),
    "vendor": ("user.name", "actor.user.name"),
    "cashier": ("cashier.uid",),
    "domain": ("dst_endpoint.domain", "query.hostname", "url.hostname"),
}
CARD = "card"
TENDER_CARDS = "list_transform(\"tenders\", lambda t: t.card.bin || '******' || t.card.last4)"
"""A transaction's cards in the masked form alerts name them (`bin******last4`)."""
SUMMARY_COLUMNS = (
    "user.name",
    "actor.user.name",
    "device.uid",
    "cashier.uid",
    "transaction.uid",
    "door.name",
    "camera.uid",
    "zone.name",
    "query.hostname",
    "http_request.url.path",
    "status",
)
SKIP = frozenset({"day", "store"})
"""Partition columns of the lake views, not event fields."""


@dataclass(frozen=True)
class ClassEvents:
    """The related rows of one event class (columns null in all of them left out), and how
    many there are in all."""

    event_class: str
    table: pa.Table
    total: int


def related_events(
    lake: Lake, incident: Incident, limit: int = LIMIT, pad: timedelta = PAD
) -> list[ClassEvents]:
    """Up to `limit` related rows per class, oldest first; classes with none left out."""
    if not lake.root.exists():
        return []
    since, until = incident.first_seen - pad, incident.last_seen + pad
    found = []
    try:
        connection = lake.connect()
    except duckdb.Error as error:
        raise TimelineError(f"cannot open the lake at {lake.root}: {error}") from error
    try:
        for event_class in EVENT_CLASSES:
            name = short_name(event_class)
            schema = arrow_schema(event_class)
            condition, params = _condition(incident, name, set(schema.names))
            if condition is None or next(lake.files(event_class), None) is None:
                continue
            where = f'"time" >= ? AND "time" <= ? AND ({condition})'
            args = [since, until, *params]
            columns = ", ".join(f'"{field.name}"' for field in schema if field.name not in SKIP)
            # Identifiers come from the event model's schema; values are bound parameters.
            rows_sql = f'SELECT {columns} FROM "{name}" WHERE {where} ORDER BY "time" LIMIT ?'  # noqa: S608
            table = connection.sql(rows_sql, params=[*args, limit]).to_arrow_table()
            total = table.num_rows
            if total >= limit:  # there may be more: count them (only then)
                count_sql = f'SELECT count(*) FROM "{name}" WHERE {where}'  # noqa: S608
                total = int(connection.sql(count_sql, params=args).fetchall()[0][0])
            if total:
                found.append(ClassEvents(name, _drop_empty(table), total))
    except duckdb.Error as error:
        raise TimelineError(f"reading the lake for incident {incident.uid}: {error}") from error
    finally:
        connection.close()
    return found


def _condition(incident: Incident, name: str, columns: set[str]) -> tuple[str | None, list[object]]:
    """The OR of the incident's entity matches this class can show, with its parameters."""
    terms: list[str] = []
    params: list[object] = []
    linking = [e for e in incident.entities if e.role is EntityRole.LINK]
    stores = sorted({e.scope for e in linking if e.kind == FINDING and e.scope})
    if name in STORE_WIDE:
        stores = list(incident.stores)
    if stores and "store.uid" in columns:
        terms.append(f'"store.uid" IN ({", ".join("?" * len(stores))})')
        params.extend(stores)
    for entity in linking:
        for term in _entity_terms(entity, columns):
            terms.append(term)
            params.extend(_entity_params(entity))
    return (" OR ".join(f"({t})" for t in terms) or None), params


def _entity_terms(entity: IncidentEntity, columns: set[str]) -> list[str]:
    scoped = ' AND "store.uid" = ?' if entity.scope else ""
    if entity.kind == CARD:
        return [f"list_contains({TENDER_CARDS}, ?){scoped}"] if "tenders" in columns else []
    return [
        f'"{column}" = ?{scoped}'
        for column in ENTITY_COLUMNS.get(entity.kind, ())
        if column in columns
    ]


def _entity_params(entity: IncidentEntity) -> list[object]:
    return [entity.value, entity.scope] if entity.scope else [entity.value]


def _drop_empty(table: pa.Table) -> pa.Table:
    keep = [n for n in table.column_names if table.column(n).null_count < table.num_rows]
    return table.select(keep)


def build_timeline(
    incident: Incident, events: Sequence[ClassEvents], limit: int = LIMIT
) -> Timeline:
    """Alerts and notes always; the first `limit` related events; a marker for the rest."""
    entries = [
        TimelineEntry(
            a.time,
            EntryKind.ALERT,
            a.rule_uid,
            a.store,
            f"{a.title}: {a.explanation}" + (f" (x{a.count})" if a.count > 1 else ""),
            a.uid,
        )
        for a in incident.alerts
    ]
    entries += [
        TimelineEntry(n.at, EntryKind.NOTE, "incident", None, n.text) for n in incident.notes
    ]
    rows = sorted(
        (entry for group in events for entry in _event_entries(group)),
        key=lambda e: (e.time, e.source, e.ref, e.summary),
    )
    shown = rows[:limit]
    total = sum(group.total for group in events)
    entries += shown
    entries.sort(key=lambda e: (e.time, _KIND_ORDER[e.kind], e.source, e.ref, e.summary))
    if total > len(shown):
        last = entries[-1].time if entries else incident.last_seen
        more = total - len(shown)
        text = f"{more:,} more related event{'s' * (more != 1)} not shown"
        entries.append(TimelineEntry(last, EntryKind.MORE, "lake", None, text))
    return Timeline(incident.uid, tuple(entries), entity_graph(incident), total, len(shown))


_KIND_ORDER = {EntryKind.EVENT: 0, EntryKind.ALERT: 1, EntryKind.NOTE: 2, EntryKind.MORE: 3}


def _event_entries(group: ClassEvents) -> list[TimelineEntry]:
    entries = []
    for row in group.table.to_pylist():
        moment = row.get("time")
        if not isinstance(moment, datetime):
            continue
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        store = row.get("store.uid")
        entries.append(
            TimelineEntry(
                moment,
                EntryKind.EVENT,
                group.event_class,
                str(store) if store is not None else None,
                summarise(row),
                str(row.get("metadata.uid") or ""),
            )
        )
    return entries


def summarise(row: dict[str, object]) -> str:
    """One line for a raw event: its activity, the endpoints, the people and things named."""
    parts = [str(row.get("activity_name") or row.get("type_name") or "event")]
    src, dst = _endpoint(row, "src_endpoint"), _endpoint(row, "dst_endpoint")
    if src or dst:
        parts.append(f"{src or '?'} -> {dst or '?'}")
    parts += [f"{c}={row[c]}" for c in SUMMARY_COLUMNS if row.get(c) not in (None, "")]
    message = row.get("message")
    if message:
        parts.append(str(message)[:120])
    return ", ".join(parts)


def _endpoint(row: dict[str, object], prefix: str) -> str:
    """`s031-pos-01 (10.31.11.11:51234)`, `203.0.113.9:8443`, or empty."""
    uid, ip, port = (row.get(f"{prefix}.{name}") for name in ("uid", "ip", "port"))
    address = f"{ip}:{port}" if ip is not None and port is not None else ip
    if uid is not None and address is not None:
        return f"{uid} ({address})"
    return str(uid or address or "")
