"""Every event class Vigil knows, by class_uid and by name."""

from __future__ import annotations

from vigil.events.base import OcsfEvent
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
from vigil.events.errors import UnknownEventClassError
from vigil.events.retail import DoorAccess, PosTransaction, VideoObservation
from vigil.events.system import FileActivity, ProcessActivity

EVENT_CLASSES: tuple[type[OcsfEvent], ...] = (
    NetworkActivity,
    HttpActivity,
    DnsActivity,
    Authentication,
    AccountChange,
    DeviceInventoryInfo,
    DetectionFinding,
    IncidentFinding,
    PosTransaction,
    DoorAccess,
    VideoObservation,
    ProcessActivity,
    FileActivity,
)

_BY_UID = {cls.CLASS_UID: cls for cls in EVENT_CLASSES}
_BY_NAME = {cls.CLASS_NAME: cls for cls in EVENT_CLASSES}


def short_name(event_class: type[OcsfEvent]) -> str:
    """The name used for lake partitions and query views: `vigil/pos_transaction` -> `pos_transaction`."""
    return event_class.CLASS_NAME.rsplit("/", 1)[-1]


_BY_SHORT = {short_name(cls): cls for cls in EVENT_CLASSES}


def event_class(key: int | str) -> type[OcsfEvent]:
    """Look up an event class by class_uid, OCSF name or short name."""
    found = _BY_UID.get(key) if isinstance(key, int) else _BY_NAME.get(key) or _BY_SHORT.get(key)
    if found is None:
        known = ", ".join(sorted(_BY_SHORT))
        raise UnknownEventClassError(f"unknown event class {key!r}; known classes: {known}")
    return found
