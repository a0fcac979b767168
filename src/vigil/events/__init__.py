"""Vigil's event model: OCSF 1.8.0 classes, the Vigil retail extension, and columns.

Typed models validate at the edges; `EventBatch` carries events between stages
as Arrow tables whose columns are the flattened OCSF attribute names.
"""

from vigil.events.base import RETAIL_PROFILE, VIGIL_EXTENSION, OcsfEvent, SeverityId, StoreRef
from vigil.events.batch import (
    EventBatch,
    ParsedLines,
    RejectedEvent,
    batches_from_json_lines,
    parse_event,
)
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
from vigil.events.columns import arrow_schema, from_table, to_table
from vigil.events.errors import (
    EventError,
    InvalidEventError,
    SchemaMismatchError,
    UnknownEventClassError,
)
from vigil.events.registry import EVENT_CLASSES, event_class, short_name
from vigil.events.retail import DoorAccess, PosTransaction, VideoObservation
from vigil.events.system import FileActivity, ProcessActivity

__all__ = [
    "EVENT_CLASSES",
    "RETAIL_PROFILE",
    "VIGIL_EXTENSION",
    "AccountChange",
    "Authentication",
    "DetectionFinding",
    "DeviceInventoryInfo",
    "DnsActivity",
    "DoorAccess",
    "EventBatch",
    "EventError",
    "FileActivity",
    "HttpActivity",
    "IncidentFinding",
    "InvalidEventError",
    "NetworkActivity",
    "OcsfEvent",
    "ParsedLines",
    "PosTransaction",
    "ProcessActivity",
    "RejectedEvent",
    "SchemaMismatchError",
    "SeverityId",
    "StoreRef",
    "UnknownEventClassError",
    "VideoObservation",
    "arrow_schema",
    "batches_from_json_lines",
    "event_class",
    "from_table",
    "parse_event",
    "short_name",
    "to_table",
]
