"""Export to Elastic Common Schema: a field mapping over the flattened columns.

Mapped columns are renamed to their ECS field; the rest keep their OCSF name
under `vigil.` so nothing is lost. `event.kind`, `event.category` and
`event.type` are derived from the class and activity.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from vigil.events.base import OcsfEvent
from vigil.events.batch import EventBatch
from vigil.events.classes import (
    AccountChange,
    Authentication,
    DetectionFinding,
    DeviceInventoryInfo,
    DnsActivity,
    HttpActivity,
    IncidentFinding,
    NetworkActivity,
)
from vigil.events.retail import DoorAccess, PosTransaction, VideoObservation
from vigil.events.system import FileActivity, ProcessActivity

COMMON: dict[str, str] = {
    "time": "@timestamp",
    "message": "message",
    "severity_id": "event.severity",
    "activity_name": "event.action",
    "metadata.uid": "event.id",
    "metadata.product.name": "observer.product",
    "metadata.product.vendor_name": "observer.vendor",
    "metadata.product.version": "observer.version",
    "metadata.original_time": "event.created",
    "raw_data": "event.original",
    "duration": "event.duration",
    "start_time": "event.start",
    "end_time": "event.end",
    "src_endpoint.ip": "source.ip",
    "src_endpoint.port": "source.port",
    "src_endpoint.mac": "source.mac",
    "src_endpoint.hostname": "source.address",
    "src_endpoint.domain": "source.domain",
    "src_endpoint.location.country": "source.geo.country_iso_code",
    "src_endpoint.location.city": "source.geo.city_name",
    "dst_endpoint.ip": "destination.ip",
    "dst_endpoint.port": "destination.port",
    "dst_endpoint.mac": "destination.mac",
    "dst_endpoint.hostname": "destination.address",
    "dst_endpoint.domain": "destination.domain",
    "dst_endpoint.location.country": "destination.geo.country_iso_code",
    "traffic.bytes_out": "source.bytes",
    "traffic.bytes_in": "destination.bytes",
    "traffic.packets_out": "source.packets",
    "traffic.packets_in": "destination.packets",
    "traffic.bytes": "network.bytes",
    "traffic.packets": "network.packets",
    "connection_info.protocol_name": "network.transport",
    "connection_info.protocol_num": "network.iana_number",
    "connection_info.direction": "network.direction",
    "app_name": "network.protocol",
    "user.name": "user.name",
    "user.uid": "user.id",
    "user.email_addr": "user.email",
    "user.domain": "user.domain",
    "user.full_name": "user.full_name",
    "device.uid": "host.id",
    "device.hostname": "host.hostname",
    "device.name": "host.name",
    "device.ip": "host.ip",
    "device.mac": "host.mac",
    "device.type": "host.type",
    "device.os.name": "host.os.name",
    "device.os.version": "host.os.version",
    "http_request.http_method": "http.request.method",
    "http_request.url.url_string": "url.full",
    "http_request.url.path": "url.path",
    "http_request.url.query_string": "url.query",
    "http_request.url.hostname": "url.domain",
    "http_request.url.scheme": "url.scheme",
    "http_request.user_agent": "user_agent.original",
    "http_request.referrer": "http.request.referrer",
    "http_request.version": "http.version",
    "http_response.code": "http.response.status_code",
    "http_response.length": "http.response.body.bytes",
    "http_response.content_type": "http.response.mime_type",
    "query.hostname": "dns.question.name",
    "query.type": "dns.question.type",
    "query.class": "dns.question.class",
    "rcode": "dns.response_code",
    "service.name": "service.name",
    "session.uid": "session.id",  # not ECS core; kept for correlation
    "actor.user.name": "user.changes.name",
    "finding_info.uid": "event.id",
    "finding_info.title": "rule.name",
    "finding_info.desc": "rule.description",
    "finding_info.analytic.uid": "rule.id",
    "finding_info.analytic.name": "rule.ruleset",
    "risk_score": "event.risk_score",
    "store.uid": "labels.store_uid",
    "store.name": "labels.store_name",
    "store.region_uid": "labels.region_uid",
}

CATEGORIES: dict[type[OcsfEvent], tuple[str, list[str]]] = {
    NetworkActivity: ("event", ["network"]),
    HttpActivity: ("event", ["network", "web"]),
    DnsActivity: ("event", ["network"]),
    Authentication: ("event", ["authentication"]),
    AccountChange: ("event", ["iam"]),
    DeviceInventoryInfo: ("state", ["host"]),
    DetectionFinding: ("alert", ["intrusion_detection"]),
    IncidentFinding: ("alert", ["intrusion_detection"]),
    PosTransaction: ("event", ["process"]),
    DoorAccess: ("event", ["iam"]),
    VideoObservation: ("event", ["intrusion_detection"]),
    ProcessActivity: ("event", ["process"]),
    FileActivity: ("event", ["file"]),
}


def ecs_field(event_class: type[OcsfEvent], column: str) -> str | None:
    """The ECS field a column maps to, or None when it is exported under `vigil.`."""
    return COMMON.get(column)


def to_ecs(batch: EventBatch) -> pa.Table:
    """A table with ECS field names (dotted) for every column of the batch."""
    kind, categories = CATEGORIES[batch.event_class]
    names: list[str] = []
    arrays: list[pa.ChunkedArray | pa.Array] = []
    taken: set[str] = set()
    for name in batch.table.column_names:
        target = ecs_field(batch.event_class, name)
        if target is None or target in taken:
            target = f"vigil.{name}"
        taken.add(target)
        names.append(target)
        arrays.append(batch.table.column(name))
    rows = len(batch)
    names += ["event.kind", "event.category", "event.dataset"]
    arrays += [
        pa.array([kind] * rows, pa.string()),
        pa.array([categories] * rows, pa.list_(pa.string())),
        pa.array([f"vigil.{batch.event_class.CLASS_NAME.rsplit('/', 1)[-1]}"] * rows, pa.string()),
    ]
    return pa.Table.from_arrays(arrays, names=names)


def to_ecs_documents(batch: EventBatch) -> list[dict[str, Any]]:
    """Nested ECS documents (nulls left out), ready to index."""
    documents = []
    for row in to_ecs(batch).to_pylist():
        document: dict[str, Any] = {}
        for name, value in row.items():
            if value is None:
                continue
            if name == "@timestamp":
                document[name] = value.isoformat().replace("+00:00", "Z")
                continue
            node = document
            *parents, leaf = name.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[leaf] = value
        documents.append(document)
    return documents
