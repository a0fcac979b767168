"""Dwell per zone (on exit), zone entry and exit events, and zone-to-zone paths.

Dwell is reported for every zone once a visit ends, if it lasted at least the
zone's `min_dwell_seconds`. Entry and exit events only for zones that ask for
them (`report_entry_exit`). Paths are summarised, not emitted: the sequence of
zones each finished track went through, and the zone-to-zone transitions.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import numpy as np

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import (
    Activity,
    PathCount,
    PathSummary,
    Scene,
    Transition,
    Visit,
)


def _exit_details(behaviour: Behaviour, visit: Visit, what: str) -> Details:
    zone = behaviour.zone(visit.zone)
    return Details(
        zone=zone,
        subject=visit.subject,
        dwell_seconds=visit.seconds,
        start_ms=visit.entered_ms,
        end_ms=visit.last_ms,
        message=f"Track {visit.track_id} {what} {zone.name or zone.id} after {visit.seconds:.1f} s",
    )


@behaviours.register("dwell")
class Dwell(Behaviour):
    def update(self, scene: Scene) -> list[VideoObservation]:
        return [
            self.event(scene, Activity.DWELL, _exit_details(self, visit, "spent in"))
            for visit in scene.exited
            if visit.seconds >= self.limits[visit.zone].min_dwell_seconds
        ]


@behaviours.register("zone_entry_exit")
class ZoneEntryExit(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.reported = np.array([z.report_entry_exit for z in self.camera.zones], dtype=bool)

    def update(self, scene: Scene) -> list[VideoObservation]:
        events = []
        for zone, column in np.argwhere(scene.entered & self.reported.reshape(-1, 1)).tolist():
            subject = scene.subject(column)
            name = self.zone(zone).name or self.zone(zone).id
            details = Details(
                zone=self.zone(zone),
                subject=subject,
                start_ms=scene.ms,
                message=f"Track {subject.track_id} entered {name}",
            )
            events.append(self.event(scene, Activity.ZONE_ENTRY, details))
        events.extend(
            self.event(scene, Activity.ZONE_EXIT, _exit_details(self, visit, "left"))
            for visit in scene.exited
            if self.reported[visit.zone]
        )
        return events


@behaviours.register("paths")
class ZonePaths(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self._paths: dict[int, list[int]] = {}
        self._finished: Counter[tuple[int, ...]] = Counter()

    def update(self, scene: Scene) -> list[VideoObservation]:
        for zone, column in np.argwhere(scene.entered).tolist():
            path = self._paths.setdefault(int(scene.tracks.ids[column]), [])
            if not path or path[-1] != zone:
                path.append(zone)
        for track_id in scene.lost:
            if track_id in self._paths:
                self._finished[tuple(self._paths.pop(track_id))] += 1
        return []

    def summary(self) -> PathSummary:
        ids = [zone.id for zone in self.camera.zones]
        transitions: Counter[tuple[int, int]] = Counter()
        for path, tracks in self._finished.items():
            for step in pairwise(path):
                transitions[step] += tracks
        return PathSummary(
            tracks=sum(self._finished.values()),
            paths=tuple(
                PathCount(tuple(ids[z] for z in path), tracks)
                for path, tracks in self._finished.most_common()
            ),
            transitions=tuple(
                Transition(ids[a], ids[b], tracks) for (a, b), tracks in transitions.most_common()
            ),
        )
