"""Crowding: more people in a zone than its `crowd_count`, once per episode.

An episode ends when the count falls back to the limit; the next rise is a new one.
"""

from __future__ import annotations

import numpy as np

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Scene


@behaviours.register("crowding")
class Crowding(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.limit = np.array(
            [-1 if t.crowd_count is None else t.crowd_count for t in self.limits], dtype=np.int64
        )
        self._crowded = np.zeros(len(self.limit), dtype=bool)

    def update(self, scene: Scene) -> list[VideoObservation]:
        counts = scene.occupancy
        crowded = (self.limit >= 0) & (counts > self.limit)
        rising = np.flatnonzero(crowded & ~self._crowded).tolist()
        self._crowded = crowded
        events = []
        for zone in rising:
            name = self.zone(zone).name or self.zone(zone).id
            details = Details(
                zone=self.zone(zone),
                count=int(counts[zone]),
                message=f"{int(counts[zone])} people in {name} (limit {int(self.limit[zone])})",
                extra={"crowd_limit": int(self.limit[zone])},
            )
            events.append(self.event(scene, Activity.CROWDING, details))
        return events
