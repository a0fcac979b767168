"""Privacy for anything that leaves the analysis: heads blurred in snapshots, frames and clips.

    privacy = Privacy()
    safe = privacy.apply(frame, people.xyxy)   # a copy; the frame is left as it was

Faces are not detected separately: the head is estimated as the top `head_fraction` of
each person box, widened by `margin`, and blurred by shrinking it to a few blocks and
back, which keeps no facial detail however the result is sharpened. A person the
detector missed is not blurred, so exports should use every detection of the frame,
not only confirmed tracks (`VideoPipeline` passes both).

MediaPipe's face detector is not used: `mediapipe` 0.10.21 needs numpy < 2 and
protobuf < 5 and pulls in `opencv-contrib-python`, a second `cv2` that would replace
Vigil's; the later releases ship no face model (the Tasks API downloads one).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from vigil.video.errors import FrameError

Image = npt.NDArray[np.uint8]
Boxes = npt.NDArray[np.floating]


class PrivacyConfig(BaseModel):
    """Where heads are taken to be, and how strongly they are blurred."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    head_fraction: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description="Top share of a person box treated as the head (a standing adult's is ~0.15).",
    )
    margin: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Extra room around the head region, as a share of the box height.",
    )
    blocks: int = Field(
        default=3,
        ge=1,
        le=16,
        description="Blocks across a blurred head: fewer is stronger; 3 leaves no features.",
    )


class Privacy:
    """Blurs the heads of the people in a frame."""

    def __init__(self, config: PrivacyConfig | None = None) -> None:
        self.config = config or PrivacyConfig()

    def head_regions(self, boxes: Boxes, frame_hw: tuple[int, int]) -> npt.NDArray[np.int64]:
        """(n, 4) integer head rectangles, xyxy, clipped to the frame; empty ones dropped."""
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        heights = boxes[:, 3] - boxes[:, 1]
        margin = self.config.margin * heights
        heads = np.stack(
            [
                boxes[:, 0] - margin,
                boxes[:, 1] - margin,
                boxes[:, 2] + margin,
                boxes[:, 1] + self.config.head_fraction * heights + margin,
            ],
            axis=1,
        )
        heads[:, 0::2] = np.clip(np.floor(heads[:, 0::2]), 0, frame_hw[1])
        heads[:, 1::2] = np.clip(np.ceil(heads[:, 1::2]), 0, frame_hw[0])
        pixels = heads.astype(np.int64)
        return pixels[(pixels[:, 2] > pixels[:, 0]) & (pixels[:, 3] > pixels[:, 1])]

    def apply(self, image: Image, boxes: Boxes) -> Image:
        """A copy of the frame with every person's head region blurred."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise FrameError(f"a frame is H x W x 3 uint8, not {image.shape} {image.dtype}")
        out = image.copy()
        for x0, y0, x1, y1 in self.head_regions(boxes, image.shape[:2]).tolist():
            out[y0:y1, x0:x1] = self._blur(out[y0:y1, x0:x1])
        return out

    def _blur(self, patch: Image) -> Image:
        height, width = patch.shape[:2]
        side = max(height, width) / self.config.blocks
        small = (max(1, round(width / side)), max(1, round(height / side)))
        coarse = cv2.resize(patch, small, interpolation=cv2.INTER_AREA)
        return np.asarray(
            cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8
        )
