"""Synthetic scenes for the video runtime tests: blocks that walk, a detector that sees them,
a video file of them, a fake capture that fails on cue, and a constant ONNX NanoDet."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import onnx
import supervision as sv
from onnx import TensorProto, helper, numpy_helper

W, H = 320, 240
PERSON_W, PERSON_H = 20, 60
NOON_UTC = datetime(
    2026, 3, 4, 12, 0, tzinfo=UTC
)  # 12:00 in Leeds: store 031 of video_helpers is open
PERSON = 0  # COCO class index


def background(seed: int = 7) -> np.ndarray:
    """A still, textured grey scene (texture, so motion has something to ignore)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 90, size=(H // 8, W // 8, 3), dtype=np.uint8)
    return np.asarray(cv2.resize(base, (W, H), interpolation=cv2.INTER_NEAREST))


def person_box(x: float, y: float) -> tuple[int, int, int, int]:
    """The box of a person standing at (x, y): bottom centre, 20 x 60 pixels."""
    x0, y0 = round(x - PERSON_W / 2), round(y - PERSON_H)
    return x0, y0, x0 + PERSON_W, y0 + PERSON_H


def scene(people: Iterable[tuple[float, float]], base: np.ndarray | None = None) -> np.ndarray:
    """The background with a bright block per person; its head (top 12 px) a fine checker."""
    image = (background() if base is None else base).copy()
    for x, y in people:
        x0, y0, x1, y1 = person_box(x, y)
        image[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 235
        checker = (np.indices((12, PERSON_W)).sum(axis=0) % 2) * 20 + 215
        head = image[max(y0, 0) : max(y0 + 12, 0), max(x0, 0) : max(x1, 0)]
        head[:] = checker[: head.shape[0], : head.shape[1], None]
    return image


class BlockDetector:
    """Finds the bright blocks in whatever image it is given (a frame or a crop)."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, int]] = []
        """The (height, width) of each image it was run on."""

    def detect(self, frame: np.ndarray) -> sv.Detections:
        self.seen.append((frame.shape[0], frame.shape[1]))
        mask = (cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) > 200).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        blobs = stats[1:count]
        blobs = blobs[blobs[:, cv2.CC_STAT_AREA] >= 40]
        x, y = blobs[:, cv2.CC_STAT_LEFT], blobs[:, cv2.CC_STAT_TOP]
        w, h = blobs[:, cv2.CC_STAT_WIDTH], blobs[:, cv2.CC_STAT_HEIGHT]
        xyxy = np.stack([x, y, x + w, y + h], axis=1).astype(np.float32).reshape(-1, 4)
        return sv.Detections(
            xyxy=xyxy,
            confidence=np.full(len(xyxy), 0.9, np.float32),
            class_id=np.zeros(len(xyxy), dtype=int),
            data={"class_name": np.array(["person"] * len(xyxy))},
        )


def walk(
    start: tuple[float, float], end: tuple[float, float], frames: int
) -> list[tuple[float, float]]:
    """Evenly spaced positions from start to end."""
    xs = np.linspace(start[0], end[0], frames)
    ys = np.linspace(start[1], end[1], frames)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def write_video(path: Path, frames: Sequence[np.ndarray], fps: float = 10.0) -> Path:
    """An MJPEG AVI of the frames (every OpenCV build writes and reads it)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (W, H))
    for image in frames:
        writer.write(image)
    writer.release()
    return path


def walking_clip(path: Path, frames: int = 40, fps: float = 10.0) -> Path:
    """A person walking left to right across the middle, then standing still."""
    steps = walk((30, 150), (290, 150), frames // 2) + [(290.0, 150.0)] * (frames - frames // 2)
    return write_video(path, [scene([position]) for position in steps], fps)


@dataclass
class FakeCapture:
    """A capture of given frames at given stream times (ms); then `grab` fails."""

    images: Sequence[np.ndarray]
    times_ms: Sequence[float]
    fps: float = 10.0
    position: int = -1
    released: bool = False

    def isOpened(self) -> bool:  # noqa: N802
        return True

    def grab(self) -> bool:
        self.position += 1
        return self.position < len(self.images)

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        return True, self.images[self.position]

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return float(self.times_ms[self.position])
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        return 0.0

    def release(self) -> None:
        self.released = True


class ClosedCapture(FakeCapture):
    def isOpened(self) -> bool:  # noqa: N802
        return False


@dataclass
class Opener:
    """Fails to open `failures` times, then hands out the captures in order (then fails)."""

    captures: list[FakeCapture]
    failures: int = 0
    calls: int = 0
    opened: list[FakeCapture] = field(default_factory=list)

    def __call__(self, uri: str, kind: object) -> FakeCapture:
        self.calls += 1
        if self.failures > 0:
            self.failures -= 1
            return ClosedCapture([], [])
        if not self.captures:
            return ClosedCapture([], [])
        capture = self.captures.pop(0)
        self.opened.append(capture)
        return capture


class FakeClock:
    """Wall clock for live sources: advances by `step` each call."""

    def __init__(self, start: datetime = NOON_UTC, step: timedelta = timedelta(milliseconds=100)):
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        moment = self.now
        self.now += self.step
        return moment


def constant_nanodet(path: Path, box: tuple[float, float, float, float], side: int = 64) -> Path:
    """A NanoDet-layout ONNX model (64 x 64 input) that always finds one person.

    The person sits at stride 16, cell (1, 2) (anchor point 24, 40 input pixels); `box` is
    given as distances in bins (left, top, right, bottom), each bin 16 input pixels.
    """
    scores = {n: np.zeros((1, n, 80), np.float32) for n in (64, 16, 4)}
    boxes = {n: np.zeros((1, n, 44), np.float32) for n in (64, 16, 4)}
    scores[16][0, 9, PERSON] = 0.9
    logits = np.zeros((4, 11), np.float32)
    logits[np.arange(4), [round(value) for value in box]] = 30.0
    boxes[16][0, 9] = logits.ravel()
    outputs = [scores[64], boxes[64], scores[16], boxes[16], scores[4], boxes[4]]
    nodes, infos = [], []
    for index, value in enumerate(outputs):
        name = f"out{index}"
        nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value)))
        infos.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    image = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, side, side])
    model = helper.make_model(
        helper.make_graph(nodes, "constant", [image], infos),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 9
    onnx.save(model, path)
    return path
