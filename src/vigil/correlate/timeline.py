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

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

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
    lake: Lake,
    incident: Incident,
    limit: int = LIMIT,
    pad: timedelta = PAD,
    connection: duckdb.DuckDBPyConnection | None = None,
) -> list[ClassEvents]:
    """Up to `limit` related rows per class, oldest first; classes with none left out.

    Only the partitions that can hold them are read: the days of the padded range and,
    when every match is bound to a store, those stores. `connection` is a lake
    connection to read on (a console keeps one); without it one is opened and closed.
    """
    if not lake.root.exists():
        return []
    since, until = incident.first_seen - pad, incident.last_seen + pad
    days = _days(since, until)
    found = []
    try:
        reader = connection or lake.connect()
    except duckdb.Error as error:
        raise TimelineError(f"cannot open the lake at {lake.root}: {error}") from error
    try:
        for event_class in EVENT_CLASSES:
            name = short_name(event_class)
            stores = _bound_stores(incident, name)
            files = lake.partition_files(event_class, days, stores)
            if not files:
                continue
            present = _present_columns(files, arrow_schema(event_class))
            condition, params = _condition(incident, name, set(present))
            if condition is None:
                continue
            source = _source(lake.root, files)
            where = f'"time" >= ? AND "time" <= ? AND ({condition})'
            args = [since, until, *params]
            columns = ", ".join(f'"{column}"' for column in present if column not in SKIP)
            # Identifiers come from the event model's schema, file names from the lake's own
            # listing (quoted); values are bound parameters.
            rows_sql = f'SELECT {columns} FROM {source} WHERE {where} ORDER BY "time" LIMIT ?'  # noqa: S608
            table = reader.sql(rows_sql, params=[*args, limit]).to_arrow_table()
            total = table.num_rows
            if total >= limit:  # there may be more: count them (only then)
                count_sql = f"SELECT count(*) FROM {source} WHERE {where}"  # noqa: S608
                total = int(reader.sql(count_sql, params=args).fetchall()[0][0])
            if total:
                found.append(ClassEvents(name, _drop_empty(table), total))
    except (duckdb.Error, pa.ArrowException, OSError) as error:
        raise TimelineError(f"reading the lake for incident {incident.uid}: {error}") from error
    finally:
        if connection is None:
            reader.close()
    return found


def _days(since: datetime, until: datetime) -> list[date]:
    """The lake's day partitions (UTC dates) from `since` to `until`."""
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _present_columns(files: Sequence[Path], schema: pa.Schema) -> list[str]:
    """The class's columns that these files hold, in schema order (a file leaves out the
    columns null in all its rows)."""
    held: set[str] = set()
    for path in files:
        held.update(_file_columns(str(path), path.stat().st_mtime_ns))
    return [column for column in schema.names if column in held]


@functools.lru_cache(maxsize=16_384)
def _file_columns(path: str, _modified_ns: int) -> frozenset[str]:
    """A lake file's column names, read from its footer once per version of the file (a
    file is written whole under its final name; replacing it changes its time)."""
    return frozenset(pq.read_schema(path).names)


def _source(root: Path, files: Sequence[Path]) -> str:
    """`read_parquet` over these files, named under the lake's resolved root (the only
    folder the connection may read)."""
    resolved = root.resolve()
    listed = ", ".join(
        "'" + str(resolved / path.relative_to(root)).replace("'", "''") + "'" for path in files
    )
    return (
        f"read_parquet([{listed}], hive_partitioning = true, union_by_name = true, "
        "hive_types = {'day': DATE, 'store': VARCHAR})"
    )


def _linking(incident: Incident) -> list[IncidentEntity]:
    return [e for e in incident.entities if e.role is EntityRole.LINK]


def _store_terms(incident: Incident, name: str) -> list[str]:
    """The stores whose every event of this class in the range is related."""
    if name in STORE_WIDE:
        return list(incident.stores)
    return sorted({e.scope for e in _linking(incident) if e.kind == FINDING and e.scope})


def _bound_stores(incident: Incident, name: str) -> set[str] | None:
    """The stores every match of this class lies in, or None when a match may be anywhere
    (an entity of no store, an address seen estate-wide)."""
    stores = set(_store_terms(incident, name))
    for entity in _linking(incident):
        if entity.kind not in ENTITY_COLUMNS and entity.kind != CARD:
            continue  # matches no column: no term
        if not entity.scope:
            return None
        stores.add(entity.scope)
    return stores


def _condition(incident: Incident, name: str, columns: set[str]) -> tuple[str | None, list[object]]:
    """The OR of the incident's entity matches this class can show, with its parameters."""
    terms: list[str] = []
    params: list[object] = []
    stores = _store_terms(incident, name)
    if stores and "store.uid" in columns:
        terms.append(f'"store.uid" IN ({", ".join("?" * len(stores))})')
        params.extend(stores)
    for entity in _linking(incident):
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
