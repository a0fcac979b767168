"""Turning what a behaviour saw into a `VideoObservation` event.

Every event names the store, the camera, the zone or line, the track and its
box; a snapshot is asked of the runtime's hook for the activities worth one.
The event uid is derived from what it says, so a replayed frame gives the same
uid and the store can write it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from vigil import __version__
from vigil.estate import Estate, Store, UnknownStoreError
from vigil.events import SeverityId, StoreRef, VideoObservation
from vigil.events.objects import Device, Metadata, Product
from vigil.events.retail import BoundingBox, VideoZone
from vigil.video.behaviours.types import Activity, Scene, SnapshotHook, SnapshotRequest, Subject
from vigil.video.zones import CameraZones, Line, Zone

SEVERITY: dict[Activity, SeverityId] = {
    Activity.LOITERING: SeverityId.LOW,
    Activity.RESTRICTED_AREA_ENTRY: SeverityId.MEDIUM,
    Activity.AFTER_HOURS_PRESENCE: SeverityId.HIGH,
    Activity.SHELF_SWEEP: SeverityId.MEDIUM,
    Activity.CROWDING: SeverityId.LOW,
}
"""Activities that may need a person's attention; the others are informational."""

SNAPSHOT_ACTIVITIES = frozenset(SEVERITY)
"""Activities for which the snapshot hook is called by default."""

_NAMESPACE = uuid.UUID("5b0c1a52-7f0e-4d38-9a5e-2f6f1c7a9e41")
_IOT = 7  # OCSF device type_id: IOT device


@dataclass(frozen=True)
class Details:
    """What one event says beyond activity and time."""

    zone: Zone | Line | None = None
    subject: Subject | None = None
    dwell_seconds: float | None = None
    direction: str | None = None
    count: int | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    message: str | None = None
    extra: Mapping[str, float | int | str] | None = None


class ObservationFactory:
    """Builds the events of one camera of one store."""

    def __init__(
        self,
        camera: CameraZones,
        store: Store,
        estate: Estate,
        snapshot: SnapshotHook | None = None,
        snapshot_activities: frozenset[Activity] = SNAPSHOT_ACTIVITIES,
    ) -> None:
        self.camera = camera
        self.snapshot = snapshot
        self.snapshot_activities = snapshot_activities
        try:
            region: str | None = estate.region_of(store.uid).uid
        except UnknownStoreError:
            region = None
        self._store = StoreRef(uid=store.uid, name=store.name, region_uid=region)
        asset = next((a for a in store.assets if a.uid == camera.uid), None)
        self._device = Device(
            type_id=_IOT,
            type="IOT",
            uid=camera.uid,
            name=camera.name or (asset.name if asset else None),
            ip=asset.ip if asset else None,
            mac=asset.mac if asset else None,
            model=asset.model if asset else None,
        )
        self._metadata = Metadata(
            product=Product(name="Vigil video", vendor_name="Vigil", version=__version__),
            log_name="video",
        )

    def event(self, scene: Scene, activity: Activity, details: Details) -> VideoObservation:
        zone = details.zone
        subject = details.subject
        return VideoObservation(
            activity_id=int(activity),
            time=scene.time,
            start_time=details.start_ms,
            end_time=details.end_ms,
            severity_id=SEVERITY.get(activity, SeverityId.INFORMATIONAL),
            metadata=self._metadata.model_copy(update={"uid": self._uid(scene, activity, details)}),
            message=details.message,
            count=details.count,
            store=self._store,
            camera=self._device,
            zone=None if zone is None else _video_zone(zone),
            track_uid=None if subject is None else str(subject.track_id),
            object_class=None if subject is None else subject.label,
            confidence=None if subject is None else subject.confidence,
            bbox=None if subject is None or subject.box is None else _bbox(subject.box),
            dwell_seconds=details.dwell_seconds,
            direction=details.direction,
            snapshot_uri=self._snapshot(scene, activity, details),
            unmapped=None if details.extra is None else dict(details.extra),
        )

    def _uid(self, scene: Scene, activity: Activity, details: Details) -> str:
        track = "" if details.subject is None else str(details.subject.track_id)
        zone = "" if details.zone is None else details.zone.id
        key = f"{self._store.uid}/{self.camera.uid}/{int(activity)}/{zone}/{track}/{scene.ms}"
        return str(uuid.uuid5(_NAMESPACE, key))

    def _snapshot(self, scene: Scene, activity: Activity, details: Details) -> str | None:
        if self.snapshot is None or activity not in self.snapshot_activities:
            return None
        subject = details.subject
        request = SnapshotRequest(
            time=scene.time,
            camera_uid=self.camera.uid,
            activity=activity,
            image=scene.image,
            zone_uid=None if details.zone is None else details.zone.id,
            track_id=None if subject is None else subject.track_id,
            box=None if subject is None else subject.box,
        )
        return self.snapshot(request)


def _video_zone(zone: Zone | Line) -> VideoZone:
    kind = "line" if isinstance(zone, Line) else zone.kind.value
    return VideoZone(uid=zone.id, name=zone.name, type=kind)


def _bbox(box: tuple[float, float, float, float]) -> BoundingBox:
    x0, y0, x1, y1 = box
    return BoundingBox(x=x0, y=y0, width=x1 - x0, height=y1 - y0)


__all__ = ["SEVERITY", "SNAPSHOT_ACTIVITIES", "Details", "ObservationFactory"]
