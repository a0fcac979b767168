"""Frames onto model inputs and boxes back: plain resize or letterbox, and its inverse.

A detector resizes the camera frame to its input, runs, and must report boxes in
frame pixels; `Geometry` records the mapping (`input = frame * scale + pad`) so the
inverse is exact for every family, whatever its resize rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
"""A camera frame: H x W x 3, uint8, BGR (OpenCV's order)."""
Boxes = npt.NDArray[np.float32]
"""N x 4 boxes, x1 y1 x2 y2, in pixels."""

LETTERBOX_FILL = 114
"""The grey both YOLO families pad with in training."""


@dataclass(frozen=True)
class Geometry:
    """How a frame of `frame_hw` lands on a model input of `input_hw`."""

    frame_hw: tuple[int, int]
    input_hw: tuple[int, int]
    scale_x: float
    scale_y: float
    pad_x: int = 0
    pad_y: int = 0

    @classmethod
    def stretch(cls, frame_hw: tuple[int, int], input_hw: tuple[int, int]) -> Geometry:
        """Plain resize to the input, aspect ratio not kept (NanoDet)."""
        return cls(frame_hw, input_hw, input_hw[1] / frame_hw[1], input_hw[0] / frame_hw[0])

    @classmethod
    def letterbox(
        cls, frame_hw: tuple[int, int], input_hw: tuple[int, int], centre: bool
    ) -> Geometry:
        """Resize keeping the aspect ratio, pad the rest: centred (YOLOv8) or right/bottom (YOLOX)."""
        ratio = min(input_hw[0] / frame_hw[0], input_hw[1] / frame_hw[1])
        height = max(1, round(frame_hw[0] * ratio))
        width = max(1, round(frame_hw[1] * ratio))
        pad_x = (input_hw[1] - width) // 2 if centre else 0
        pad_y = (input_hw[0] - height) // 2 if centre else 0
        return cls(frame_hw, input_hw, width / frame_hw[1], height / frame_hw[0], pad_x, pad_y)

    @property
    def resized_hw(self) -> tuple[int, int]:
        return (
            round(self.frame_hw[0] * self.scale_y),
            round(self.frame_hw[1] * self.scale_x),
        )

    def warp(self, frame: Frame) -> Frame:
        """The frame as the model sees it (resized, and padded with grey where letterboxed)."""
        height, width = self.resized_hw
        resized = cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
        if (height, width) == self.input_hw:
            return np.asarray(resized, dtype=np.uint8)
        canvas = np.full((*self.input_hw, 3), LETTERBOX_FILL, dtype=np.uint8)
        canvas[self.pad_y : self.pad_y + height, self.pad_x : self.pad_x + width] = resized
        return canvas

    def to_frame(self, boxes: Boxes) -> Boxes:
        """Input-pixel boxes to frame pixels, clipped to the frame."""
        out = np.empty_like(boxes, dtype=np.float32)
        out[:, 0::2] = (boxes[:, 0::2] - self.pad_x) / self.scale_x
        out[:, 1::2] = (boxes[:, 1::2] - self.pad_y) / self.scale_y
        np.clip(out[:, 0::2], 0, self.frame_hw[1], out=out[:, 0::2])
        np.clip(out[:, 1::2], 0, self.frame_hw[0], out=out[:, 1::2])
        return out


def to_blob(
    image: Frame,
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0),
    scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
    rgb: bool = False,
) -> npt.NDArray[np.float32]:
    """HWC uint8 BGR to the 1 x 3 x H x W float tensor: `(pixel - mean) * scale` per channel.

    `mean` and `scale` are in the tensor's channel order (RGB when `rgb`). Channel by
    channel into the tensor, so each plane is written once where converting the whole
    image, normalising and transposing took seven times as long.
    """
    planes = cv2.split(image)
    if rgb:
        planes = planes[::-1]
    blob = np.empty((1, 3, image.shape[0], image.shape[1]), dtype=np.float32)
    for channel, plane in enumerate(planes):
        out = blob[0, channel]
        np.subtract(plane, np.float32(mean[channel]), out=out, dtype=np.float32)
        np.multiply(out, np.float32(scale[channel]), out=out)
    return blob


def tile_origins(height: int, width: int) -> list[tuple[int, int]]:
    """Top-left corners (x, y) of the fewest squares of side min(height, width) covering a frame.

    Neighbours overlap evenly, so a person cut by one square's edge is whole in the next.
    """
    side, length = min(height, width), max(height, width)
    count = math.ceil(length / side)
    step = (length - side) / (count - 1) if count > 1 else 0.0
    starts = [round(index * step) for index in range(count)]
    if width >= height:
        return [(start, 0) for start in starts]
    return [(0, start) for start in starts]
