"""Queue length at queue and checkout zones, with the estimated wait.

The wait is the mean time in the queue of the last people who left it, once a
few have; before that, people in the queue times the zone's service time.
Reported on the first frame, when a new length has held for `queue_settle_seconds`
(so people walking through do not count), and at least every `queue_report_seconds`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Scene
from vigil.video.zones import QUEUE_KINDS

OBSERVED_WAITS = 20
"""How many recent times-in-queue the observed wait is the mean of."""
MIN_OBSERVED = 3
"""Fewer finished waits than this and the service-time estimate is used."""


@dataclass(frozen=True)
class WaitEstimate:
    """Seconds a newcomer would wait, and what the figure rests on."""

    seconds: float | None
    basis: str
    """observed (mean of finished waits), service_time (length x service) or unknown."""


@behaviours.register("queue_length")
class QueueLength(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.queues = [i for i, zone in enumerate(self.camera.zones) if zone.kind in QUEUE_KINDS]
        self._waits = {i: deque[float](maxlen=OBSERVED_WAITS) for i in self.queues}
        self._length: dict[int, int] = {}
        self._reported_ms: dict[int, int] = {}
        self._seen: dict[int, int] = {}
        self._seen_since_ms: dict[int, int] = {}

    def update(self, scene: Scene) -> list[VideoObservation]:
        for visit in scene.exited:
            waits = self._waits.get(visit.zone)
            if waits is not None and visit.seconds >= self.limits[visit.zone].min_dwell_seconds:
                waits.append(visit.seconds)
        counts = scene.occupancy
        events = []
        for zone in self.queues:
            length = int(counts[zone])
            if self._seen.get(zone) != length:
                self._seen[zone], self._seen_since_ms[zone] = length, scene.ms
            limits = self.limits[zone]
            settled = scene.ms - self._seen_since_ms[zone] >= round(
                limits.queue_settle_seconds * 1000
            )
            changed = settled and self._length.get(zone) != length
            every_ms = round(limits.queue_report_seconds * 1000)
            due = scene.ms - self._reported_ms.get(zone, scene.ms - every_ms) >= every_ms
            if not (changed or due):
                continue
            self._length[zone] = length
            self._reported_ms[zone] = scene.ms
            events.append(self._report(scene, zone, length))
        return events

    def estimated_wait(self, zone: int, length: int) -> WaitEstimate:
        """The wait at a queue zone (by index) with `length` people in it."""
        waits = self._waits[zone]
        if len(waits) >= MIN_OBSERVED:
            return WaitEstimate(sum(waits) / len(waits), "observed")
        service = self.limits[zone].service_seconds
        if service is None:
            return WaitEstimate(None, "unknown")
        return WaitEstimate(length * service, "service_time")

    def _report(self, scene: Scene, zone: int, length: int) -> VideoObservation:
        estimate = self.estimated_wait(zone, length)
        wait = estimate.seconds
        extra: dict[str, float | int | str] = {
            "wait_basis": estimate.basis,
            "observed_waits": len(self._waits[zone]),
        }
        if wait is not None:
            extra["estimated_wait_seconds"] = round(wait, 1)
        name = self.zone(zone).name or self.zone(zone).id
        said = "unknown" if wait is None else f"{wait:.0f} s"
        details = Details(
            zone=self.zone(zone),
            count=length,
            message=f"{length} in {name}, estimated wait {said}",
            extra=extra,
        )
        return self.event(scene, Activity.QUEUE_LENGTH, details)
