"""Motion gating: run the detector only where something moved, and rest it when nothing did.

    gate = MotionGate(MotionConfig(), frame_hw=(576, 768), fps=5, min_crop_hw=(416, 416))
    decision = gate.decide(image, ms)     # FULL frame, a REGION to crop, or IDLE

Each frame is shrunk to `width` pixels wide, made grey and blurred, and fed to a
Gaussian-mixture background model (OpenCV's MOG2, which absorbs slow light changes).
Foreground blobs larger than `min_blob_fraction` of the frame are the moving boxes.
The detector then sees:

- the whole frame on the first frame, every `full_frame_seconds` (so people who stand
  still are re-detected and false tracks are dropped), and when the moving region
  would cover `full_frame_coverage` of the frame anyway;
- otherwise one crop: the union of the moving boxes, padded, grown to at least the
  detector's input size (so people are not enlarged past what the model was trained
  on) and kept inside the frame;
- nothing when nothing moved (`IDLE`): the tracker is told so and keeps everyone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from vigil.video.errors import VideoError

Image = npt.NDArray[np.uint8]
Boxes = npt.NDArray[np.float32]


class MotionConfig(BaseModel):
    """How motion is measured and when the detector runs on the whole frame."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        default=True, description="Gate the detector on motion; off: every frame is a full frame."
    )
    width: int = Field(default=256, ge=32, description="Width motion is measured at, pixels.")
    history_seconds: float = Field(
        default=20.0, gt=0, description="How long the background model remembers."
    )
    var_threshold: float = Field(
        default=25.0,
        gt=0,
        description="Squared distance from the background (MOG2 varThreshold) that is motion.",
    )
    min_blob_fraction: float = Field(
        default=0.0005, gt=0, lt=1, description="Smallest moving blob, as a share of the frame."
    )
    padding_px: int = Field(
        default=32, ge=0, description="Margin around the moving boxes, frame pixels."
    )
    min_crop_scale: float = Field(
        default=1.0,
        gt=0,
        description="Smallest crop, as a multiple of the detector's input size (capped by the frame).",
    )
    full_frame_seconds: float | None = Field(
        default=2.0,
        gt=0,
        description="Run on the whole frame at least this often; unset: only when needed.",
    )
    full_frame_coverage: float = Field(
        default=0.6,
        gt=0,
        le=1,
        description="A crop covering more than this share of the frame runs as a full frame.",
    )


class GateKind(StrEnum):
    """What the detector is given for a frame."""

    FULL = "full"
    REGION = "region"
    IDLE = "idle"


@dataclass(frozen=True)
class Region:
    """A rectangle of the frame, integer pixels, x1 and y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def area(self) -> int:
        return max(0, self.x1 - self.x0) * max(0, self.y1 - self.y0)

    def crop(self, image: Image) -> Image:
        return image[self.y0 : self.y1, self.x0 : self.x1]

    def overlaps(self, boxes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """Which xyxy boxes share any area with the region."""
        xyxy = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        return (
            (xyxy[:, 0] < self.x1)
            & (xyxy[:, 2] > self.x0)
            & (xyxy[:, 1] < self.y1)
            & (xyxy[:, 3] > self.y0)
        )


@dataclass(frozen=True)
class GateDecision:
    """One frame's verdict: what to detect on, and the moving boxes behind it."""

    kind: GateKind
    region: Region | None
    """The whole frame (FULL), the crop (REGION), or None (IDLE)."""
    moving: Boxes
    """(n, 4) moving blobs, xyxy in frame pixels."""
    reason: str
    """Why: first frame, periodic, motion, coverage, still or gating off."""


class MotionGate:
    """Decides, frame by frame, what of one camera's view the detector sees."""

    def __init__(
        self,
        config: MotionConfig,
        frame_hw: tuple[int, int],
        fps: float,
        min_crop_hw: tuple[int, int] = (320, 320),
    ) -> None:
        height, width = frame_hw
        if height <= 0 or width <= 0 or fps <= 0:
            raise VideoError(f"motion needs a frame size and rate, not {frame_hw} at {fps} fps")
        self.config = config
        self.frame_hw = frame_hw
        self.scale = min(1.0, config.width / width)
        self.small_wh = (max(1, round(width * self.scale)), max(1, round(height * self.scale)))
        self.min_crop_hw = (
            min(height, round(min_crop_hw[0] * config.min_crop_scale)),
            min(width, round(min_crop_hw[1] * config.min_crop_scale)),
        )
        self.min_blob = config.min_blob_fraction * self.small_wh[0] * self.small_wh[1]
        history = max(2, round(config.history_seconds * fps))
        self.model = cv2.createBackgroundSubtractorMOG2(
            history=history, varThreshold=config.var_threshold, detectShadows=False
        )
        self.kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        self.whole = Region(0, 0, width, height)
        self._last_full_ms: float | None = None

    def decide(self, image: Image, ms: float) -> GateDecision:
        """The decision for a frame at stream time `ms` (milliseconds)."""
        if image.shape[:2] != self.frame_hw:
            raise VideoError(f"motion gate set up for {self.frame_hw} frames, got {image.shape}")
        moving = self.moving_boxes(image)
        if not self.config.enabled:
            return self._full(ms, moving, "gating off")
        if self._last_full_ms is None:
            return self._full(ms, moving, "first frame")
        every = self.config.full_frame_seconds
        if every is not None and ms - self._last_full_ms >= every * 1000.0 - 0.5:
            return self._full(ms, moving, "periodic")
        if len(moving) == 0:
            return GateDecision(GateKind.IDLE, None, moving, "still")
        region = self.region_around(moving)
        if region.area >= self.config.full_frame_coverage * self.whole.area:
            return self._full(ms, moving, "coverage")
        return GateDecision(GateKind.REGION, region, moving, "motion")

    def moving_boxes(self, image: Image) -> Boxes:
        """Foreground blobs of this frame, xyxy in frame pixels (the model learns the frame)."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)  # grey first: a third of the resizing
        small = cv2.resize(grey, self.small_wh, interpolation=cv2.INTER_LINEAR)
        small = cv2.GaussianBlur(small, (5, 5), 0)  # what linear shrinking aliases, and noise
        mask = self.model.apply(small)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.kernel)
        mask = cv2.dilate(mask, self.kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        blobs = stats[1:count]
        blobs = blobs[blobs[:, cv2.CC_STAT_AREA] >= self.min_blob]
        x, y = blobs[:, cv2.CC_STAT_LEFT], blobs[:, cv2.CC_STAT_TOP]
        w, h = blobs[:, cv2.CC_STAT_WIDTH], blobs[:, cv2.CC_STAT_HEIGHT]
        boxes = np.stack([x, y, x + w, y + h], axis=1).astype(np.float32) / self.scale
        return boxes.reshape(-1, 4)

    def region_around(self, boxes: Boxes) -> Region:
        """The padded union of the boxes, grown to the smallest crop, inside the frame."""
        height, width = self.frame_hw
        pad = self.config.padding_px
        x0 = float(boxes[:, 0].min()) - pad
        y0 = float(boxes[:, 1].min()) - pad
        x1 = float(boxes[:, 2].max()) + pad
        y1 = float(boxes[:, 3].max()) + pad
        x0, x1 = _grow(x0, x1, self.min_crop_hw[1], width)
        y0, y1 = _grow(y0, y1, self.min_crop_hw[0], height)
        return Region(x0, y0, x1, y1)

    def _full(self, ms: float, moving: Boxes, reason: str) -> GateDecision:
        self._last_full_ms = ms
        return GateDecision(GateKind.FULL, self.whole, moving, reason)


def _grow(start: float, end: float, least: int, limit: int) -> tuple[int, int]:
    """[start, end) widened about its centre to at least `least`, shifted into [0, limit)."""
    low, high = max(0, int(np.floor(start))), min(limit, int(np.ceil(end)))
    missing = least - (high - low)
    if missing > 0:
        low -= missing // 2
        high += missing - missing // 2
    if low < 0:
        high, low = high - low, 0
    if high > limit:
        low, high = max(0, low - (high - limit)), limit
    return low, high
