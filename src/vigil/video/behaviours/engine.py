"""The video engine of one camera: tracked detections in, Video Observation events out.

    engine = VideoEngine(zones.camera("s031-cam-04"), store, estate, snapshot=save)
    for time, frame, detections in stream:  # detections carry tracker ids
        bus.publish(engine.update(time, frame, detections))

Per frame it takes the bottom-centre anchor of every box, tests all anchors
against all zones at once, folds that into visits (with the camera's exit
grace), and hands the resulting `Scene` to each behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import supervision as sv

from vigil.estate import Estate, Store
from vigil.events import VideoObservation
from vigil.events.types import epoch_ms
from vigil.plugins import PluginNotFoundError
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.dwell import ZonePaths
from vigil.video.behaviours.geometry import bottom_centres, zone_membership
from vigil.video.behaviours.lines import LineCrossing
from vigil.video.behaviours.observe import SNAPSHOT_ACTIVITIES, ObservationFactory
from vigil.video.behaviours.presence import Presence, PresenceState
from vigil.video.behaviours.types import (
    Activity,
    Footfall,
    FrameError,
    Image,
    PathSummary,
    Scene,
    SnapshotHook,
    Tracks,
    UnknownBehaviourError,
)
from vigil.video.heatmap import HeatMap
from vigil.video.zones import CameraZones

PEOPLE = frozenset({"person"})


class VideoEngine:
    """Runs every behaviour (or the named ones) on one camera's frames, in time order."""

    def __init__(
        self,
        camera: CameraZones,
        store: Store,
        estate: Estate,
        *,
        snapshot: SnapshotHook | None = None,
        snapshot_activities: frozenset[Activity] = SNAPSHOT_ACTIVITIES,
        heatmap: HeatMap | None = None,
        behaviour_names: Sequence[str] | None = None,
        classes: frozenset[str] = PEOPLE,
    ) -> None:
        self.camera = camera
        self.store = store
        self.estate = estate
        self.heatmap = heatmap
        self.classes = classes
        factory = ObservationFactory(camera, store, estate, snapshot, snapshot_activities)
        context = BehaviourContext(camera, store, estate, factory)
        names = behaviours.names() if behaviour_names is None else list(behaviour_names)
        try:
            kinds = [behaviours.get(name) for name in names]
        except PluginNotFoundError as error:
            raise UnknownBehaviourError(str(error)) from None
        self.behaviours: list[Behaviour] = [kind(context) for kind in kinds]
        self.presence = Presence(len(camera.zones), round(camera.exit_grace_seconds * 1000))
        self._polygons = [zone.polygon for zone in camera.zones]
        self._last_ms: int | None = None

    def update(
        self, time: datetime, image: Image, detections: sv.Detections
    ) -> list[VideoObservation]:
        """The events of one frame; frames must come in time order."""
        ms = self._check(time, image)
        tracks = self._tracks(detections)
        raw = zone_membership(tracks.anchors, self._polygons)
        if self.heatmap is not None:
            self.heatmap.update(tracks.anchors)
        return self._run(time, ms, image, tracks, self.presence.update(ms, tracks, raw))

    def flush(self, time: datetime, image: Image) -> list[VideoObservation]:
        """End every visit and track (the stream stopped): their dwell and exits."""
        ms = self._check(time, image)
        return self._run(time, ms, image, _no_tracks(), self.presence.flush())

    def footfall(self) -> list[Footfall]:
        """In and out counts per line (empty when line crossing is not running)."""
        found = [b for b in self.behaviours if isinstance(b, LineCrossing)]
        return found[0].footfall() if found else []

    def paths(self) -> PathSummary:
        """Zone-to-zone paths of finished tracks (empty when paths are not running)."""
        found = [b for b in self.behaviours if isinstance(b, ZonePaths)]
        return found[0].summary() if found else PathSummary(0, (), ())

    def _run(
        self, time: datetime, ms: int, image: Image, tracks: Tracks, state: PresenceState
    ) -> list[VideoObservation]:
        scene = Scene(
            time=time,
            ms=ms,
            image=image,
            tracks=tracks,
            inside=state.inside,
            since_ms=state.since_ms,
            entered=state.entered,
            occupancy=state.occupancy,
            exited=state.exited,
            lost=state.lost,
            is_open=self.estate.is_open(self.store, time),
        )
        return [event for behaviour in self.behaviours for event in behaviour.update(scene)]

    def _check(self, time: datetime, image: Image) -> int:
        if time.tzinfo is None or time.utcoffset() is None:
            raise FrameError("frame time must be an aware datetime (UTC)")
        expected = (self.camera.height, self.camera.width, 3)
        if image.shape != expected or image.dtype != np.uint8:
            raise FrameError(
                f"camera {self.camera.uid}: frame is {image.shape} {image.dtype}, "
                f"zones are drawn for {expected} uint8"
            )
        ms = epoch_ms(time)
        if self._last_ms is not None and ms < self._last_ms:
            raise FrameError(
                f"camera {self.camera.uid}: frame at {time.isoformat()} is older than the last one"
            )
        self._last_ms = ms
        return ms

    def _tracks(self, detections: sv.Detections) -> Tracks:
        if len(detections) and detections.tracker_id is None:
            raise FrameError("detections have no tracker_id: run the tracker first")
        keep = np.ones(len(detections), dtype=bool)
        if detections.tracker_id is not None:
            keep &= detections.tracker_id >= 0  # unconfirmed tracks
        names = detections.data.get("class_name")
        labels: list[str | None] = [None] * len(detections)
        if names is not None:
            labels = [str(name) for name in names]
            if self.classes:
                keep &= np.isin(np.asarray(labels, dtype=object), list(self.classes))
        picked = np.flatnonzero(keep)
        boxes = np.asarray(detections.xyxy, dtype=np.float64)[picked].reshape(-1, 4)
        confidence = (
            np.full(len(picked), np.nan)
            if detections.confidence is None
            else np.asarray(detections.confidence, dtype=np.float64)[picked]
        )
        ids = (
            np.zeros(0, dtype=np.int64)
            if detections.tracker_id is None
            else np.asarray(detections.tracker_id, dtype=np.int64)[picked]
        )
        return Tracks(
            ids=ids,
            boxes=boxes,
            anchors=bottom_centres(boxes),
            confidence=confidence,
            labels=tuple(labels[i] for i in picked.tolist()),
        )


def _no_tracks() -> Tracks:
    empty = np.zeros((0, 4), dtype=np.float64)
    return Tracks(np.zeros(0, np.int64), empty, bottom_centres(empty), np.zeros(0), ())
