"""The behaviour plugin kind: one class per behaviour, registered by name.

    @behaviours.register("loitering")
    class Loitering(Behaviour):
        def update(self, scene: Scene) -> list[VideoObservation]: ...

The engine builds every registered behaviour (or the ones a camera names) with
the same context and calls `update` once per frame.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from vigil.estate import Estate, Store
from vigil.events import VideoObservation
from vigil.plugins import Registry
from vigil.video.behaviours.observe import Details, ObservationFactory
from vigil.video.behaviours.types import Activity, Scene
from vigil.video.zones import CameraZones, Thresholds, Zone


@dataclass(frozen=True)
class BehaviourContext:
    """What every behaviour is built with."""

    camera: CameraZones
    store: Store
    estate: Estate
    factory: ObservationFactory


class Behaviour(ABC):
    """Watches every frame of one camera; keeps its own small per-track state."""

    def __init__(self, context: BehaviourContext) -> None:
        self.context = context
        self.camera = context.camera
        self.limits: list[Thresholds] = [self.camera.zone_thresholds(z) for z in self.camera.zones]

    @abstractmethod
    def update(self, scene: Scene) -> list[VideoObservation]:
        """The events this frame gives rise to (usually none)."""

    def zone(self, index: int) -> Zone:
        return self.camera.zones[index]

    def event(self, scene: Scene, activity: Activity, details: Details) -> VideoObservation:
        return self.context.factory.event(scene, activity, details)


behaviours: Registry[Behaviour] = Registry("video behaviour")
