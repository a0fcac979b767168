"""YOLOX exports (Megvii): one output `[1, N, 5 + C]`: box, objectness, class scores.

The official export leaves the boxes raw (`decode_in_inference=False`): per
anchor of the stride 8, 16 and 32 grids (row by row, finest grid first),
centre = (offset + cell) x stride and size = exp(value) x stride. Other exports
decode in the graph and emit cx, cy, w, h in input pixels. `decoded` in the
config says which; left unset it is told from the values on the first frame:
raw offsets and log sizes stay within a few units, decoded centres span the
input. Scores are objectness x class score (both already sigmoid). The input is
BGR, 0-255 unnormalised, letterboxed at the top left.
"""

from __future__ import annotations

import math
from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field

from vigil.video.detectors.base import ModelConfig, OnnxDetector, video_models
from vigil.video.detectors.geometry import Frame, Geometry, to_blob
from vigil.video.detectors.session import Candidates, Outputs, Shape, pick
from vigil.video.detectors.yolov8 import cxcywh_to_xyxy
from vigil.video.errors import ModelError

RAW_LIMIT = 32.0
"""Largest |value| a raw (undecoded) box column holds: offsets in cells, log sizes."""


class YoloxConfig(ModelConfig):
    """A YOLOX export; `decoded` None means: tell raw from decoded boxes by their values."""

    type: Literal["yolox"] = "yolox"
    strides: tuple[int, ...] = Field(
        default=(8, 16, 32), min_length=1, description="Grid strides, finest first."
    )
    decoded: bool | None = Field(
        default=None,
        description="Whether the export decodes boxes itself; unset: read from the values.",
    )


@video_models.register("yolox")
class Yolox(OnnxDetector):
    """YOLOX's decoupled head: objectness times class score, grid/stride box decoding."""

    config_model: ClassVar[type[ModelConfig]] = YoloxConfig
    layout: ClassVar[str] = "one [1, N, 5 + classes] output of box, objectness, class scores"

    config: YoloxConfig

    def __init__(self, config: YoloxConfig) -> None:
        self.decoded = config.decoded
        self.cells = np.empty((0, 2), np.float32)
        self.strides = np.empty((0, 1), np.float32)
        super().__init__(config)

    def geometry(self, frame_hw: tuple[int, int]) -> Geometry:
        return Geometry.letterbox(frame_hw, self.input_hw, centre=False)

    def prepare(self, frame: Frame, geometry: Geometry) -> npt.NDArray[np.float32]:
        return to_blob(geometry.warp(frame))

    def bind(self, shapes: list[Shape]) -> None:
        width = 5 + len(self.config.class_names)
        if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
            raise ModelError("expected one [1, N, columns] output")
        if shapes[0][2] != width:
            raise ModelError(f"the last axis is not {width} (4 box + 1 objectness + classes)")
        self._grid(shapes[0][1])

    def _grid(self, anchors: int) -> None:
        """The cell and stride of each anchor, for the model's input size."""
        cells, strides = [], []
        for stride in self.config.strides:
            rows = math.ceil(self.input_hw[0] / stride)
            columns = math.ceil(self.input_hw[1] / stride)
            ys, xs = np.mgrid[0:rows, 0:columns].astype(np.float32)
            cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
            strides.append(np.full(rows * columns, stride, np.float32))
        self.cells = np.concatenate(cells)
        self.strides = np.concatenate(strides)[:, None]
        if len(self.cells) != anchors and self.decoded is not True:
            raise ModelError(
                f"{anchors} anchors, but strides {list(self.config.strides)} on a "
                f"{self.input_hw[0]} x {self.input_hw[1]} input make {len(self.cells)}"
            )

    def decode(self, outputs: Outputs) -> Candidates:
        rows = outputs[0][0]
        if self.decoded is None:
            self.decoded = bool(np.abs(rows[:, :2]).max(initial=0.0) > RAW_LIMIT)
        scores = rows[:, 4:5] * rows[:, 5:]
        picks = pick(scores, self.kept, self.config.confidence)
        if len(picks.rows) == 0:
            return Candidates.empty()
        boxes = rows[picks.rows, :4]
        if not self.decoded:
            strides = self.strides[picks.rows]
            boxes = np.concatenate(
                [(boxes[:, :2] + self.cells[picks.rows]) * strides, np.exp(boxes[:, 2:]) * strides],
                axis=1,
            )
        return Candidates(cxcywh_to_xyxy(boxes), picks.confidence, picks.class_id)
