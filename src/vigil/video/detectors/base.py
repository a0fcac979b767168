"""The video model plugin: an ONNX detector that turns a BGR frame into `sv.Detections`.

A plugin is one module holding its pydantic config (`type: Literal["nanodet"]`)
and its `OnnxDetector` subclass, registered into `video_models`. The base class
does what every family shares: it opens the ONNX session (`session.py`), checks
frames, runs the model once at load time to learn the concrete output shapes (so
a model whose outputs fit no known layout fails at start-up, not on the first
person), keeps the configured classes, optionally tiles wide frames, runs
class-aware NMS and maps boxes back to frame pixels. A subclass says how a frame
maps onto its input (`geometry`, `prepare`), which outputs it needs (`bind`) and
how to decode them (`decode`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar, Protocol, runtime_checkable

import cv2
import numpy as np
import numpy.typing as npt
import supervision as sv
from pydantic import BaseModel, ConfigDict, Field, model_validator

from vigil.plugins import Registry
from vigil.video.detectors.coco import COCO_CLASSES
from vigil.video.detectors.geometry import Frame, Geometry, tile_origins
from vigil.video.detectors.session import (
    Candidates,
    Outputs,
    Session,
    Shape,
    check_frame,
)
from vigil.video.errors import ModelError

logger = logging.getLogger(__name__)


@runtime_checkable
class Detector(Protocol):
    """What the video worker needs of a detector: boxes for one frame."""

    def detect(self, frame: Frame) -> sv.Detections:
        """Objects in a BGR uint8 H x W x 3 frame, boxes in its pixels, with `class_name` data."""
        ...


class ModelConfig(BaseModel):
    """Settings every video model shares; each plugin adds its own `type`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="Which model family decodes the outputs.")
    model: Path = Field(description="The ONNX file.")
    confidence: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description=(
            "Lowest class score kept. Low, so the tracker's second stage sees partly hidden "
            "people; the tracker's activation score decides who becomes a person."
        ),
    )
    nms_iou: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Overlap (IoU) above which the weaker of two boxes of one class is dropped.",
    )
    classes: tuple[str, ...] = Field(
        default=("person",), min_length=1, description="Class names reported; others are dropped."
    )
    class_names: tuple[str, ...] = Field(
        default=COCO_CLASSES,
        min_length=1,
        description="The model's classes in output order (the 80 COCO classes by default).",
    )
    input_size: int | None = Field(
        default=None,
        ge=32,
        description="Square input side of a model with a dynamic input (a fixed one is read).",
    )
    threads: int = Field(
        default=1, ge=1, description="ONNX Runtime intra-op threads (one camera, one core)."
    )
    square_tiles: bool = Field(
        default=False,
        description=(
            "Run the model on overlapping square crops of a wide (or tall) frame and merge: "
            "small people come out larger to the model, at one run per crop."
        ),
    )

    @model_validator(mode="after")
    def _classes_known(self) -> ModelConfig:
        unknown = sorted(set(self.classes) - set(self.class_names))
        if unknown:
            raise ValueError(f"classes {unknown} are not among the model's class_names")
        return self


class OnnxDetector(ABC):
    """A `Detector` running one ONNX model; subclasses decode one output layout."""

    config_model: ClassVar[type[ModelConfig]] = ModelConfig
    default_input_size: ClassVar[int] = 640
    layout: ClassVar[str] = ""
    """The expected outputs, in words, for the error when a model has others."""

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        self.class_names = np.array(config.class_names)
        self.kept = np.array([config.class_names.index(name) for name in config.classes])
        self.session = Session(config.model, config.threads)
        self.input_hw = self.session.input_hw(config.input_size, self.default_input_size)
        shapes = self.session.output_shapes(self.input_hw)
        try:
            self.bind(shapes)
        except ModelError as error:
            raise ModelError(
                f"{config.model}: outputs {[list(shape) for shape in shapes]} are not the "
                f"{config.type} layout ({self.layout}): {error}"
            ) from None

    def detect(self, frame: Frame) -> sv.Detections:
        """Detections of the configured classes, in frame pixels, after class-aware NMS."""
        check_frame(frame)
        if not self.config.square_tiles:
            return self._finish(self._candidates(frame, 0, 0))
        side = min(frame.shape[0], frame.shape[1])
        parts = [
            self._candidates(frame[y : y + side, x : x + side], x, y)
            for x, y in tile_origins(frame.shape[0], frame.shape[1])
        ]
        return self._finish(Candidates.concatenate(parts))

    def _candidates(self, view: Frame, x: int, y: int) -> Candidates:
        """Candidates of one view (the frame, or a crop at x, y), in frame pixels."""
        geometry = self.geometry((view.shape[0], view.shape[1]))
        found = self.decode(self.session.run(self.prepare(view, geometry)))
        xyxy = geometry.to_frame(found.xyxy)
        xyxy[:, 0::2] += x
        xyxy[:, 1::2] += y
        return Candidates(xyxy, found.confidence, found.class_id)

    def _finish(self, candidates: Candidates) -> sv.Detections:
        """Class-aware NMS over candidates in frame pixels; boxes of no area are dropped."""
        xyxy = candidates.xyxy
        size = xyxy[:, 2:] - xyxy[:, :2]
        visible = (size > 0).all(axis=1)
        xyxy, size = xyxy[visible], size[visible]
        confidence = candidates.confidence[visible]
        class_id = candidates.class_id[visible]
        kept = cv2.dnn.NMSBoxesBatched(  # OpenCV's stubs ask for lists
            np.concatenate([xyxy[:, :2], size], axis=1).tolist(),
            confidence.tolist(),
            class_id.tolist(),
            0.0,
            self.config.nms_iou,
        )
        order = np.asarray(kept, dtype=np.intp).reshape(-1)
        return sv.Detections(
            xyxy=xyxy[order],
            confidence=confidence[order],
            class_id=class_id[order].astype(int),
            data={"class_name": self.class_names[class_id[order]]},
        )

    @abstractmethod
    def geometry(self, frame_hw: tuple[int, int]) -> Geometry:
        """How this family maps a frame of that size onto its input."""

    @abstractmethod
    def prepare(self, frame: Frame, geometry: Geometry) -> npt.NDArray[np.float32]:
        """The input tensor, 1 x 3 x H x W."""

    @abstractmethod
    def bind(self, shapes: list[Shape]) -> None:
        """Learn which output is which from their shapes; `ModelError` if none fits."""

    @abstractmethod
    def decode(self, outputs: Outputs) -> Candidates:
        """Candidates in input pixels from the raw outputs."""


video_models: Registry[OnnxDetector] = Registry("video model")
