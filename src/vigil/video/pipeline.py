"""One camera, frame by frame: motion gate -> detector -> tracker -> behaviours -> events.

    pipeline = VideoPipeline(camera, detector, store, estate, fps=5)
    for frame in source.frames():
        analysed = pipeline.process(frame)      # people, events, what the detector saw
    events = pipeline.finish()                  # visits still open when the stream ended

The gate decides what the detector sees (see `motion`). On a REGION frame the crop's
detections are moved back to frame pixels, and what was last seen outside the crop
(where nothing moved, so it is where it was) is handed to the tracker again with
them; on an IDLE frame the tracker is told nothing was detected and keeps everyone. The periodic full frame puts every track back in
touch with the detector. Frames whose size differs from the size the zones were
drawn for are resized to it, so zone coordinates always hold.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field

from vigil.estate import Estate, Store
from vigil.events import VideoObservation
from vigil.video.behaviours import SNAPSHOT_ACTIVITIES, Activity, VideoEngine
from vigil.video.capture import Image
from vigil.video.detectors import Detector, OnnxDetector
from vigil.video.heatmap import HeatMap
from vigil.video.motion import GateDecision, GateKind, MotionConfig, MotionGate, Region
from vigil.video.privacy import Boxes, Privacy, PrivacyConfig
from vigil.video.snapshots import SnapshotStore
from vigil.video.sources import SourceFrame
from vigil.video.track import Tracker, TrackerConfig
from vigil.video.zones import CameraZones

DEFAULT_CROP = (320, 320)
"""Smallest crop for a detector whose input size is unknown."""


class PipelineConfig(BaseModel):
    """One camera's analysis settings besides its source, zones and model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    motion: MotionConfig = Field(default_factory=MotionConfig, description="Motion gating.")
    tracker: TrackerConfig = Field(default_factory=TrackerConfig, description="Tracking.")
    privacy: PrivacyConfig = Field(
        default_factory=PrivacyConfig, description="Head blurring in exports."
    )
    export_confidence: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="Detections from this score up are blurred in exports even if not tracked.",
    )
    behaviours: list[str] | None = Field(
        default=None, description="Behaviours to run; unset: every registered one."
    )


@dataclass(frozen=True)
class AnalysedFrame:
    """What one frame gave. `image` is the raw analysed frame: never export it as is."""

    time: datetime
    index: int
    image: Image
    people: sv.Detections
    """Confirmed tracks, with `tracker_id`, in frame pixels."""
    detections: sv.Detections
    """What the detector found on this frame (empty if it did not run), frame pixels."""
    visible: sv.Detections
    """Who is taken to be in view: this frame's detections, and outside the crop (or on an
    idle frame) the last ones seen there. The tracker is given these."""
    gate: GateDecision
    events: list[VideoObservation]


@dataclass
class PipelineStats:
    """Counts since the pipeline started, for health and the summary."""

    analysed: int = 0
    detector_runs: int = 0
    full_frames: int = 0
    region_frames: int = 0
    idle_frames: int = 0
    events: Counter[str] = field(default_factory=Counter)
    """Events by activity name."""
    detector_seconds: float = 0.0


class VideoPipeline:
    """Analyses one camera's frames in time order and produces its events."""

    def __init__(
        self,
        camera: CameraZones,
        detector: Detector,
        store: Store,
        estate: Estate,
        *,
        fps: float,
        config: PipelineConfig | None = None,
        snapshots: SnapshotStore | None = None,
        heatmap: HeatMap | None = None,
        min_crop_hw: tuple[int, int] | None = None,
    ) -> None:
        self.camera = camera
        self.detector = detector
        self.config = config or PipelineConfig()
        self.frame_hw = (camera.height, camera.width)
        if min_crop_hw is None:
            min_crop_hw = detector.input_hw if isinstance(detector, OnnxDetector) else DEFAULT_CROP
        self.gate = MotionGate(self.config.motion, self.frame_hw, fps, min_crop_hw)
        self.tracker = Tracker(self.config.tracker, fps=fps)
        self.privacy = Privacy(self.config.privacy)
        self.heatmap = heatmap
        self._exported_boxes: Boxes = np.zeros((0, 4), dtype=np.float64)
        self._visible = _none()
        self.engine = VideoEngine(
            camera,
            store,
            estate,
            snapshot=None if snapshots is None else snapshots.hook(lambda: self._exported_boxes),
            snapshot_activities=SNAPSHOT_ACTIVITIES,
            heatmap=heatmap,
            behaviour_names=self.config.behaviours,
        )
        self.stats = PipelineStats()
        self.last: AnalysedFrame | None = None

    def process(self, frame: SourceFrame) -> AnalysedFrame:
        """Gate, detect, track and run the behaviours on one frame."""
        image = self._fit(frame.image)
        decision = self.gate.decide(image, frame.time.timestamp() * 1000.0)
        found = self._detect(image, decision)
        if decision.kind is GateKind.IDLE:
            visible = self._visible
            people = self.tracker.update(found, detected=False)
        else:
            visible = found
            if decision.kind is GateKind.REGION and decision.region is not None:
                visible = _merge(found, _outside(self._visible, decision.region))
            people = self.tracker.update(visible)
        self._visible = visible
        self._exported_boxes = self.export_boxes(people, visible)
        events = self.engine.update(frame.time, image, people)
        self._count(decision, events)
        self.last = AnalysedFrame(
            frame.time, frame.index, image, people, found, visible, decision, events
        )
        return self.last

    def finish(self) -> list[VideoObservation]:
        """End every open visit (the stream stopped): dwell and exit events."""
        if self.last is None:
            return []
        events = self.engine.flush(self.last.time, self.last.image)
        self.stats.events.update(Activity(event.activity_id).name.lower() for event in events)
        return events

    def export_boxes(self, people: sv.Detections, visible: sv.Detections) -> Boxes:
        """Every box whose head is blurred in exports: tracks, and detections in view that
        are confident enough, tracked or not (a person is blurred from the first frame)."""
        confident = visible.xyxy
        if visible.confidence is not None:
            confident = confident[visible.confidence >= self.config.export_confidence]
        boxes = np.vstack([people.xyxy.reshape(-1, 4), confident.reshape(-1, 4)])
        return np.asarray(boxes, dtype=np.float64)

    def exportable(self, analysed: AnalysedFrame) -> Image:
        """The frame with heads blurred: the only form of it that may be written anywhere."""
        boxes = self.export_boxes(analysed.people, analysed.visible)
        return self.privacy.apply(analysed.image, boxes)

    def _fit(self, image: Image) -> Image:
        if image.shape[:2] == self.frame_hw:
            return image
        size = (self.frame_hw[1], self.frame_hw[0])
        return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)

    def _detect(self, image: Image, decision: GateDecision) -> sv.Detections:
        if decision.kind is GateKind.IDLE or decision.region is None:
            return _none()
        region = decision.region
        view = image if decision.kind is GateKind.FULL else np.ascontiguousarray(region.crop(image))
        started = time.perf_counter()
        found = self.detector.detect(view)
        self.stats.detector_seconds += time.perf_counter() - started
        self.stats.detector_runs += 1
        if decision.kind is GateKind.REGION and len(found):
            found.xyxy = found.xyxy + np.array(
                [region.x0, region.y0, region.x0, region.y0], dtype=found.xyxy.dtype
            )
        return found if len(found) else _none()

    def _count(self, decision: GateDecision, events: list[VideoObservation]) -> None:
        self.stats.analysed += 1
        if decision.kind is GateKind.FULL:
            self.stats.full_frames += 1
        elif decision.kind is GateKind.REGION:
            self.stats.region_frames += 1
        else:
            self.stats.idle_frames += 1
        self.stats.events.update(Activity(event.activity_id).name.lower() for event in events)


def _none() -> sv.Detections:
    """No detections, with the fields detectors give, so merging needs no special case."""
    return sv.Detections(
        xyxy=np.zeros((0, 4), dtype=np.float32),
        confidence=np.zeros(0, dtype=np.float32),
        class_id=np.zeros(0, dtype=int),
        data={"class_name": np.zeros(0, dtype=str)},
    )


def _outside(people: sv.Detections, region: Region) -> sv.Detections:
    """Detections wholly outside the crop, where nothing moved: they are where they were."""
    kept = people.select(np.flatnonzero(~region.overlaps(people.xyxy)))
    if not len(kept):
        return _none()
    names = kept.data.get("class_name")
    return sv.Detections(
        xyxy=kept.xyxy.astype(np.float32),
        confidence=(
            np.ones(len(kept), np.float32)
            if kept.confidence is None
            else kept.confidence.astype(np.float32)
        ),
        class_id=np.zeros(len(kept), dtype=np.int64) if kept.class_id is None else kept.class_id,
        data={"class_name": np.array(["person"] * len(kept)) if names is None else names},
    )


def _merge(found: sv.Detections, carried: sv.Detections) -> sv.Detections:
    if not len(carried):
        return found
    if not len(found):
        return carried
    return sv.Detections.merge([found, carried])
