"""YOLOv8 and YOLO11 exports (Ultralytics): one output `[1, 4 + C, N]`.

Rows 0-3 are the box centre and size (cx, cy, w, h) in input pixels, the other
C rows the class scores (already sigmoid, no objectness). Some exporters
transpose it to `[1, N, 4 + C]`; both are read. The input is RGB scaled to 0-1,
letterboxed (centred, grey padding).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np
import numpy.typing as npt

from vigil.video.detectors.base import ModelConfig, OnnxDetector, video_models
from vigil.video.detectors.geometry import Frame, Geometry, to_blob
from vigil.video.detectors.session import Candidates, Outputs, Shape, pick
from vigil.video.errors import ModelError


class YoloV8Config(ModelConfig):
    """An Ultralytics YOLOv8 / YOLO11 detection export (no NMS inside the graph)."""

    type: Literal["yolov8"] = "yolov8"


def cxcywh_to_xyxy(boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Centre and size to corners."""
    half = boxes[:, 2:4] / 2
    return np.concatenate([boxes[:, :2] - half, boxes[:, :2] + half], axis=1).astype(np.float32)


@video_models.register("yolov8")
class YoloV8(OnnxDetector):
    """Ultralytics' anchor-free head, decoded in the graph: only thresholds and NMS remain."""

    config_model: ClassVar[type[ModelConfig]] = YoloV8Config
    layout: ClassVar[str] = "one [1, 4 + classes, N] output of cx, cy, w, h and class scores"

    def __init__(self, config: YoloV8Config) -> None:
        self.transposed = False
        super().__init__(config)

    def geometry(self, frame_hw: tuple[int, int]) -> Geometry:
        return Geometry.letterbox(frame_hw, self.input_hw, centre=True)

    def prepare(self, frame: Frame, geometry: Geometry) -> npt.NDArray[np.float32]:
        scale = 1.0 / 255.0
        return to_blob(geometry.warp(frame), scale=(scale, scale, scale), rgb=True)

    def bind(self, shapes: list[Shape]) -> None:
        width = 4 + len(self.config.class_names)
        if len(shapes) != 1 or len(shapes[0]) != 3 or shapes[0][0] != 1:
            raise ModelError("expected one [1, rows, columns] output")
        if shapes[0][1] == width:
            self.transposed = False
        elif shapes[0][2] == width:
            self.transposed = True
        else:
            raise ModelError(f"no axis of {width} (4 box values + {width - 4} classes)")

    def decode(self, outputs: Outputs) -> Candidates:
        rows = outputs[0][0] if self.transposed else outputs[0][0].T
        picks = pick(rows[:, 4:], self.kept, self.config.confidence)
        if len(picks.rows) == 0:
            return Candidates.empty()
        return Candidates(cxcywh_to_xyxy(rows[picks.rows, :4]), picks.confidence, picks.class_id)
