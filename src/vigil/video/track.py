"""Multi-object tracking for one camera: who is who from frame to frame.

    tracker = Tracker(TrackerConfig(), fps=camera_fps)
    people = tracker.update(detector.detect(frame))           # detections with tracker_id
    people = tracker.update(sv.Detections.empty(), detected=False)  # motion gate: skipped

Built on ByteTrack from the `trackers` package (supervision 0.31 moved
`sv.ByteTrack` there), with the original ByteTrack's motion model (centre, scale,
aspect ratio) and its 0.2 IoU gate, which matched `sv.ByteTrack`'s identity
scores on the same detections where the package's defaults (corner model, 0.1)
did not. On top of it, what a store needs:

- a track is reported only once it has been matched in `minimum_frames`
  consecutive frames, so a one-frame false positive never becomes a person;
- reported boxes are averaged over the last `smoothing_frames` frames of their
  track, so dwell and line-crossing see steady boxes (`BoxSmoother`: what
  `sv.DetectionsSmoother` gives, without its deep copy of every detection, which
  cost more than ByteTrack itself);
- a frame the motion gate skipped (`detected=False`: nothing moved) returns the
  last reported people unchanged and ages nothing, so a customer standing still
  at a shelf keeps their id however long the detector rests;
- the lost-track buffer is in seconds and converted with the camera's frame rate.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field
from trackers import ByteTrackTracker
from trackers.utils.state_representations import XCYCSRStateEstimator

from vigil.video.errors import VideoError

REFERENCE_FPS = 30.0
"""`ByteTrackTracker` counts its lost-track buffer in frames at this rate."""


class TrackerConfig(BaseModel):
    """A camera's tracking settings; the defaults suit NanoDet's scores.

    Run the detector with a confidence below `high_confidence` (0.1 by default) so
    ByteTrack's second stage can keep partly hidden people on their tracks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    lost_seconds: float = Field(
        default=1.0,
        ge=0.0,
        description="How long a track keeps its id while its person is not detected.",
    )
    activation: float = Field(
        default=0.35,
        ge=0.0,
        le=1.0,
        description="Lowest detection score that may start a new track.",
    )
    high_confidence: float = Field(
        default=0.25,
        ge=0.0,
        le=1.0,
        description="Scores from here up match first; lower ones only extend existing tracks.",
    )
    minimum_iou: float = Field(
        default=0.2,
        ge=0.0,
        le=1.0,
        description="Least overlap between a track's predicted box and a detection to match.",
    )
    minimum_frames: int = Field(
        default=2,
        ge=1,
        description="Consecutive matched frames before a track is reported (and gets its id).",
    )
    smoothing_frames: int = Field(
        default=3, ge=1, description="Frames each reported box is averaged over; 1 is none."
    )


class Tracker:
    """Assigns a stable `tracker_id` to the people of one camera, frame after frame."""

    def __init__(self, config: TrackerConfig | None = None, fps: float = REFERENCE_FPS) -> None:
        if not math.isfinite(fps) or fps <= 0:
            raise VideoError(f"a camera's frame rate must be positive, not {fps}")
        self.config = config or TrackerConfig()
        self.fps = fps
        self._bytetrack = ByteTrackTracker(
            lost_track_buffer=round(self.config.lost_seconds * REFERENCE_FPS),
            frame_rate=fps,
            track_activation_threshold=self.config.activation,
            minimum_consecutive_frames=self.config.minimum_frames,
            minimum_iou_threshold=self.config.minimum_iou,
            high_conf_det_threshold=self.config.high_confidence,
            state_estimator_class=XCYCSRStateEstimator,
        )
        self._smoother = BoxSmoother(self.config.smoothing_frames)
        self._last = _no_people()

    @property
    def max_lost_frames(self) -> int:
        """Frames a lost track survives at this camera's rate (`lost_seconds` x fps)."""
        return self._bytetrack.maximum_frames_without_update

    def update(self, detections: sv.Detections, detected: bool = True) -> sv.Detections:
        """The people now, with `tracker_id`; `detected=False` for a frame the detector skipped.

        Only confirmed tracks are returned (none of `tracker_id` -1), boxes smoothed.
        """
        if not detected:
            return _copy(self._last)
        tracked = self._bytetrack.update(detections)
        ids = tracked.tracker_id if tracked.tracker_id is not None else np.empty(0, dtype=int)
        confirmed = tracked.select(np.flatnonzero(ids >= 0))
        if self.config.smoothing_frames > 1:
            confirmed = self._smoother.update(confirmed)
        self._last = confirmed if len(confirmed) else _no_people()
        return _copy(self._last)

    def reset(self) -> None:
        """Forget every track (a camera restarted or switched scene)."""
        self._bytetrack.reset()
        self._smoother.reset()
        self._last = _no_people()


class BoxSmoother:
    """Averages each track's box and score over its last `length` frames.

    A frame a track is missing from still counts towards its window, and a track
    is forgotten once its whole window is empty; the tracks come out in the order
    they were first seen, their other fields from this frame (as `sv.DetectionsSmoother`).
    """

    def __init__(self, length: int) -> None:
        self.length = length
        self._windows: dict[int, deque[npt.NDArray[np.float64] | None]] = {}

    def update(self, tracked: sv.Detections) -> sv.Detections:
        """This frame's tracks (all with `tracker_id`), boxes and scores averaged."""
        ids = [] if tracked.tracker_id is None else tracked.tracker_id.tolist()
        scores = (
            np.full(len(tracked), np.nan)
            if tracked.confidence is None
            else np.asarray(tracked.confidence, dtype=np.float64)
        )
        rows = np.column_stack([np.asarray(tracked.xyxy, dtype=np.float64), scores])
        row_of = {int(track_id): row for row, track_id in enumerate(ids)}
        for track_id in list(self._windows):
            if track_id not in row_of:
                self._windows[track_id].append(None)
                if all(sample is None for sample in self._windows[track_id]):
                    del self._windows[track_id]
        for track_id, row in row_of.items():
            window = self._windows.setdefault(track_id, deque(maxlen=self.length))
            window.append(rows[row])
        order = [row_of[track_id] for track_id in self._windows if track_id in row_of]
        means = np.array(
            [
                np.mean(
                    [sample for sample in self._windows[ids[row]] if sample is not None], axis=0
                )
                for row in order
            ]
        ).reshape(-1, 5)
        smoothed = tracked.select(np.array(order, dtype=np.intp))
        smoothed.xyxy = means[:, :4].astype(tracked.xyxy.dtype)
        if tracked.confidence is not None:
            smoothed.confidence = means[:, 4].astype(tracked.confidence.dtype)
        return smoothed

    def reset(self) -> None:
        self._windows.clear()


def _no_people() -> sv.Detections:
    """Empty detections with the fields a tracked frame has, so callers need no special case."""
    return sv.Detections(
        xyxy=np.empty((0, 4), dtype=np.float32),
        confidence=np.empty(0, dtype=np.float32),
        class_id=np.empty(0, dtype=int),
        tracker_id=np.empty(0, dtype=int),
        data={"class_name": np.empty(0, dtype=str)},
    )


def _copy(detections: sv.Detections) -> sv.Detections:
    """A copy the caller may change without touching the tracker's memory."""
    return detections.select(np.arange(len(detections)))
