"""Loitering: time in a zone above the zone's threshold, once per visit.

Time counts whether the person moves or stands still; a visit only ends after
the exit grace, so a box that flickers out of the zone does not restart it.
Queue and checkout zones are for waiting, so they are not watched.
"""

from __future__ import annotations

import numpy as np

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Scene
from vigil.video.zones import QUEUE_KINDS


@behaviours.register("loitering")
class Loitering(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.threshold_ms = np.array(
            [
                -1
                if limits.loiter_seconds is None or zone.kind in QUEUE_KINDS
                else round(limits.loiter_seconds * 1000)
                for zone, limits in zip(self.camera.zones, self.limits, strict=True)
            ],
            dtype=np.int64,
        ).reshape(-1, 1)
        self._reported: set[tuple[int, int]] = set()

    def update(self, scene: Scene) -> list[VideoObservation]:
        for visit in scene.exited:
            self._reported.discard((visit.zone, visit.track_id))
        elapsed = scene.ms - scene.since_ms
        due = scene.inside & (self.threshold_ms >= 0) & (elapsed >= self.threshold_ms)
        events = []
        for zone, column in np.argwhere(due).tolist():
            key = (zone, int(scene.tracks.ids[column]))
            if key in self._reported:
                continue
            self._reported.add(key)
            seconds = float(elapsed[zone, column]) / 1000.0
            name = self.zone(zone).name or self.zone(zone).id
            details = Details(
                zone=self.zone(zone),
                subject=scene.subject(column),
                dwell_seconds=seconds,
                start_ms=int(scene.since_ms[zone, column]),
                message=f"Track {key[1]} has been in {name} for {seconds:.0f} s",
            )
            events.append(self.event(scene, Activity.LOITERING, details))
        return events
