"""Captures: what `VideoSource` reads frames from, OpenCV's or a folder of images.

`VideoCapture` is wrapped so that frames come out as typed uint8 arrays; a folder of
images is made to look like a capture at a given frame rate; tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 10_000


class SourceKind(StrEnum):
    """How a source is read and timed."""

    STREAM = "stream"
    DEVICE = "device"
    FILE = "file"
    FOLDER = "folder"

    @property
    def live(self) -> bool:
        return self in (SourceKind.STREAM, SourceKind.DEVICE)


def source_kind(uri: str) -> SourceKind:
    """What a URI names: a stream URL, a device number, a folder, else a file."""
    if uri.lower().startswith(LIVE_SCHEMES):
        return SourceKind.STREAM
    if uri.isdigit():
        return SourceKind.DEVICE
    if Path(uri).is_dir():
        return SourceKind.FOLDER
    return SourceKind.FILE


class Capture(Protocol):
    """The part of `cv2.VideoCapture` a source uses."""

    def isOpened(self) -> bool: ...  # noqa: N802  (OpenCV's name)

    def grab(self) -> bool: ...

    def retrieve(self) -> tuple[bool, Image | None]: ...

    def get(self, prop: int) -> float: ...

    def release(self) -> None: ...


Opener = Callable[[str, SourceKind], Capture]
"""Opens a capture for a URI; tests pass one that fails on cue."""


class FolderCapture:
    """A folder of images, in name order, as a capture at `fps` frames a second."""

    def __init__(self, folder: Path, fps: float) -> None:
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        self.fps = fps
        self.position = -1

    def isOpened(self) -> bool:  # noqa: N802
        return bool(self.paths)

    def grab(self) -> bool:
        self.position += 1
        return self.position < len(self.paths)

    def retrieve(self) -> tuple[bool, Image | None]:
        if not 0 <= self.position < len(self.paths):
            return False, None
        image = cv2.imread(str(self.paths[self.position]), cv2.IMREAD_COLOR)
        return image is not None, None if image is None else np.asarray(image, dtype=np.uint8)

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return max(self.position, 0) * 1000.0 / self.fps
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return float(len(self.paths))
        return 0.0

    def release(self) -> None:
        self.position = len(self.paths)


class OpenCvCapture:
    """`cv2.VideoCapture` with the types a source expects (frames as uint8 arrays)."""

    def __init__(self, capture: cv2.VideoCapture) -> None:
        self.capture = capture

    def isOpened(self) -> bool:  # noqa: N802
        return bool(self.capture.isOpened())

    def grab(self) -> bool:
        return bool(self.capture.grab())

    def retrieve(self) -> tuple[bool, Image | None]:
        ok, image = self.capture.retrieve()
        if not ok or not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            return False, None
        return True, np.asarray(image, dtype=np.uint8)

    def get(self, prop: int) -> float:
        return float(self.capture.get(prop))

    def release(self) -> None:
        self.capture.release()


def open_capture(uri: str, kind: SourceKind, folder_fps: float = 5.0) -> Capture:
    """OpenCV's capture for the URI (FFmpeg for streams and files, with timeouts)."""
    if kind is SourceKind.FOLDER:
        return FolderCapture(Path(uri), folder_fps)
    if kind is SourceKind.DEVICE:
        return OpenCvCapture(cv2.VideoCapture(int(uri)))
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
    timeouts += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
    return OpenCvCapture(cv2.VideoCapture(uri, cv2.CAP_FFMPEG, timeouts))
