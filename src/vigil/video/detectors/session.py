"""ONNX Runtime behind one small class, the frame check and the candidates every decoder makes.

Every failure a model file can cause (missing, not ONNX, wrong input, a run that
fails) comes out as `ModelError` naming the file; a bad frame as `FrameError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]

from vigil.video.detectors.geometry import Boxes
from vigil.video.errors import FrameError, ModelError

PRE_NMS_TOP_K = 2000
"""Most candidates handed to NMS, best first: bounds the work when a threshold is set low."""

Shape = tuple[int, ...]
Outputs = list[npt.NDArray[np.float32]]
FLOAT_INPUTS = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


@dataclass(frozen=True)
class Candidates:
    """Decoded boxes before NMS: xyxy, score and class index, one row each."""

    xyxy: Boxes
    confidence: npt.NDArray[np.float32]
    class_id: npt.NDArray[np.intp]

    @classmethod
    def empty(cls) -> Candidates:
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32), np.empty(0, np.intp))

    @classmethod
    def concatenate(cls, parts: list[Candidates]) -> Candidates:
        return cls(
            np.concatenate([part.xyxy for part in parts]),
            np.concatenate([part.confidence for part in parts]),
            np.concatenate([part.class_id for part in parts]),
        )


@dataclass(frozen=True)
class Picks:
    """The (anchor, class) pairs that clear the threshold: anchor rows, classes, scores."""

    rows: npt.NDArray[np.intp]
    class_id: npt.NDArray[np.intp]
    confidence: npt.NDArray[np.float32]


def pick(scores: npt.NDArray[np.float32], kept: npt.NDArray[np.intp], threshold: float) -> Picks:
    """Every (anchor, kept class) whose score reaches `threshold`, best `PRE_NMS_TOP_K` first.

    Multi-label, as the families are trained: one anchor may yield a person and a
    backpack. `scores` is anchors x classes.
    """
    selected = scores[:, kept]
    rows, columns = np.nonzero(selected >= threshold)
    confidence = selected[rows, columns].astype(np.float32)
    if len(confidence) > PRE_NMS_TOP_K:
        best = np.argsort(-confidence, kind="stable")[:PRE_NMS_TOP_K]
        rows, columns, confidence = rows[best], columns[best], confidence[best]
    return Picks(rows.astype(np.intp), kept[columns].astype(np.intp), confidence)


def check_frame(frame: object) -> None:
    """Raise `FrameError` unless `frame` is a non-empty H x W x 3 uint8 array.

    Channel order cannot be checked; OpenCV's BGR is what every source yields.
    """
    if not isinstance(frame, np.ndarray):
        raise FrameError(f"a frame is a numpy array, not {type(frame).__name__}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        shape = " x ".join(str(size) for size in frame.shape) or "a scalar"
        raise FrameError(f"a frame is H x W x 3 (BGR); this one is {shape}")
    if frame.dtype != np.uint8:
        raise FrameError(f"a frame is uint8 BGR; this one is {frame.dtype}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise FrameError("the frame is empty (no pixels)")


class Session:
    """One ONNX model on the CPU, with one N x 3 x H x W float image input."""

    def __init__(self, path: Path, threads: int) -> None:
        self.path = path
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Workers share the cores: a thread spinning while it waits for work takes a core
        # another camera's worker needs (no effect with one thread: there is no pool).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # ONNX Runtime raises its own classes for bad files
            raise ModelError(f"cannot load the ONNX model {path}: {error}") from error
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(f"{path}: expected one image input, found {len(inputs)}")
        self.input_name: str = inputs[0].name
        self.input_shape: list[int | str | None] = list(inputs[0].shape)
        if inputs[0].type not in FLOAT_INPUTS:
            raise ModelError(f"{path}: the input is {inputs[0].type}, not a float tensor")
        self.input_dtype = FLOAT_INPUTS[inputs[0].type]

    def input_hw(self, configured: int | None, default: int) -> tuple[int, int]:
        """The input's height and width: the model's own if fixed, else the configured side."""
        shape = self.input_shape
        if len(shape) != 4 or (shape[1] not in (3, None) and not isinstance(shape[1], str)):
            raise ModelError(f"{self.path}: the input is {shape}, not N x 3 x H x W")
        height, width = shape[2], shape[3]
        if isinstance(height, int) and isinstance(width, int):
            if configured is not None and (configured, configured) != (height, width):
                raise ModelError(
                    f"{self.path}: input_size {configured} does not fit the model's "
                    f"fixed input {height} x {width}"
                )
            return height, width
        side = configured or default
        return side, side

    def output_shapes(self, input_hw: tuple[int, int]) -> list[Shape]:
        """The outputs' concrete shapes, from one run on a blank input (also warms it up)."""
        blank = np.zeros((1, 3, *input_hw), dtype=np.float32)
        return [output.shape for output in self.run(blank)]

    def run(self, blob: npt.NDArray[np.float32]) -> Outputs:
        """The outputs for one input tensor, as float32."""
        try:
            raw = self.session.run(
                None, {self.input_name: blob.astype(self.input_dtype, copy=False)}
            )
        except Exception as error:  # ONNX Runtime's own classes
            raise ModelError(f"{self.path}: inference failed: {error}") from error
        return [np.asarray(output, dtype=np.float32) for output in raw]
