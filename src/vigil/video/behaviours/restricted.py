"""Restricted-area entry, and anyone seen while the store is closed.

Opening hours, peaks and closures come from the estate (`Estate.is_open`), so a
person on the floor at 03:00 or on Christmas Day is after-hours presence.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Scene
from vigil.video.zones import ZoneKind


@behaviours.register("restricted_entry")
class RestrictedEntry(Behaviour):
    """One event each time a track enters a restricted zone."""

    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.restricted = np.array(
            [zone.kind is ZoneKind.RESTRICTED for zone in self.camera.zones], dtype=bool
        ).reshape(-1, 1)

    def update(self, scene: Scene) -> list[VideoObservation]:
        events = []
        for zone, column in np.argwhere(scene.entered & self.restricted).tolist():
            subject = scene.subject(column)
            name = self.zone(zone).name or self.zone(zone).id
            details = Details(
                zone=self.zone(zone),
                subject=subject,
                start_ms=scene.ms,
                message=f"Track {subject.track_id} entered restricted area {name}",
            )
            events.append(self.event(scene, Activity.RESTRICTED_AREA_ENTRY, details))
        return events


@behaviours.register("after_hours")
class AfterHours(Behaviour):
    """One event per track seen while the store is closed, with the zone it is in."""

    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self._reported: set[int] = set()

    def update(self, scene: Scene) -> list[VideoObservation]:
        self._reported.difference_update(scene.lost)
        if scene.is_open:
            return []
        events = []
        in_any = np.asarray(scene.inside.any(axis=0), dtype=bool)
        first_zone: npt.NDArray[np.intp] = np.argmax(scene.inside, axis=0)
        for column, track_id in enumerate(scene.tracks.ids.tolist()):
            if track_id in self._reported:
                continue
            self._reported.add(track_id)
            zone = self.zone(int(first_zone[column])) if in_any[column] else None
            where = "" if zone is None else f" in {zone.name or zone.id}"
            details = Details(
                zone=zone,
                subject=scene.subject(column),
                message=f"Track {track_id} seen{where} while store {self.context.store.uid} is closed",
            )
            events.append(self.event(scene, Activity.AFTER_HOURS_PRESENCE, details))
        return events
