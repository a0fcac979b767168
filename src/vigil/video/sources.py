"""Camera sources: RTSP/HTTP streams, video files and image folders, read through OpenCV/FFmpeg.

    source = VideoSource(SourceConfig(uri="rtsp://10.31.40.11/stream1", fps=5))
    for frame in source.frames():      # SourceFrame: image, aware UTC time, index
        ...

Every kind is read the same way, through a `Capture` (OpenCV's `VideoCapture`, or
`FolderCapture` for a folder of images), so tests inject one that fails on cue.

- Analysis rate: a camera sending 25 fps is analysed at `fps` (5 by default). Frames
  are kept by their timestamp, not by count: a frame is due when its time reaches the
  next slot, and slots advance by exactly 1/fps, so an irregular or variable-rate
  stream still yields `fps` frames a second. Frames not due are grabbed, not decoded
  to BGR (`grab` without `retrieve`).
- Time: files and folders take the stream's own position (`CAP_PROP_POS_MSEC`) from
  `start`; live streams and devices the wall clock when the frame was grabbed.
- Reconnects: a live source that fails to open or stops delivering is reopened with
  back-off (`retry_first_seconds` doubling up to `retry_most_seconds`), forever unless
  `retries` is set. A file that ends is the end (or starts over with `loop`).
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vigil.video.capture import (
    Capture,
    Image,
    Opener,
    SourceKind,
    open_capture,
    source_kind,
)
from vigil.video.errors import SourceError

logger = logging.getLogger(__name__)


class SourceConfig(BaseModel):
    """One camera's input and the rate it is analysed at."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = Field(
        min_length=1,
        description="rtsp://, http(s):// or another FFmpeg URL; a video file; a folder of "
        "images; or a device number (0 is the first webcam).",
    )
    fps: float | None = Field(
        default=5.0, gt=0, description="Frames analysed a second; unset: every frame."
    )
    start: datetime | None = Field(
        default=None,
        description="Time of a file's first frame (aware); unset: when the file is opened.",
    )
    folder_fps: float = Field(
        default=5.0, gt=0, description="Frame rate an image folder was taken at."
    )
    loop: bool = Field(default=False, description="Start a file or folder over when it ends.")
    duration_seconds: float | None = Field(
        default=None, gt=0, description="Stop after this much stream time; unset: never."
    )
    realtime: bool = Field(
        default=False, description="Deliver a file's frames at its own pace, like a camera."
    )
    retry_first_seconds: float = Field(
        default=0.5, gt=0, description="First wait before reopening a live source."
    )
    retry_most_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait between reopening attempts."
    )
    retries: int | None = Field(
        default=None,
        ge=0,
        description="Failed attempts in a row before a live source is given up; unset: never.",
    )

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.uri)


@dataclass(frozen=True)
class SourceFrame:
    """One frame due for analysis."""

    image: Image
    time: datetime
    """When it was taken (aware, UTC): stream position from `start`, or wall clock."""
    index: int
    """Frames read from the source before it, kept or not."""
    read_at: float
    """`time.monotonic()` when it was read, for lag."""


@dataclass
class SourceStats:
    """What a source has done so far."""

    read: int = 0
    delivered: int = 0
    skipped: int = 0
    """Frames read but not due at the analysis rate."""
    reconnects: int = 0
    last_error: str | None = None
    ended: bool = False


@dataclass
class RateLimiter:
    """Keeps frames by timestamp: one per 1/fps slot, slots a fixed period apart."""

    fps: float | None
    next_ms: float | None = field(default=None, init=False)

    def due(self, ms: float) -> bool:
        if self.fps is None:
            return True
        period = 1000.0 / self.fps
        if self.next_ms is not None and ms < self.next_ms - 0.5:  # half a millisecond of slack
            return False
        slot = ms if self.next_ms is None else self.next_ms
        self.next_ms = slot + period if slot + period > ms else ms + period
        return True


class VideoSource:
    """Frames of one camera, due at its analysis rate, with reconnects for live sources."""

    def __init__(
        self,
        config: SourceConfig,
        *,
        opener: Opener | None = None,
        sleep: Callable[[float], object] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if config.start is not None and config.start.utcoffset() is None:
            raise SourceError(f"{config.uri}: start must be an aware datetime, not naive")
        self.config = config
        self.kind = config.kind
        self.opener = opener or (lambda uri, kind: open_capture(uri, kind, config.folder_fps))
        self._stopping = threading.Event()
        self.sleep = sleep or self._stopping.wait
        """Waits between reconnects and for pacing; by default cut short by `stop`."""
        self.clock = clock
        self.stats = SourceStats()
        self._capture: Capture | None = None

    def frames(self) -> Iterator[SourceFrame]:
        """Due frames until the source ends, is given up (`SourceError`) or `stop` is called."""
        limiter = RateLimiter(self.config.fps)
        start = (self.config.start or self.clock()).astimezone(UTC)
        offset_ms = 0.0  # stream time of the passes before this one (loop)
        while not self.stopped:
            capture = self._connect()
            if capture is None:
                return
            pass_ms = yield from self._read(capture, limiter, start, offset_ms)
            self._release()
            if self.stopped:
                return
            if not self.kind.live:
                if not self.config.loop or pass_ms is None:
                    self.stats.ended = True
                    return
                offset_ms += pass_ms
                continue
            self.stats.last_error = "the stream stopped delivering frames"
            logger.warning("%s: %s; reconnecting", self.config.uri, self.stats.last_error)

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask `frames` to finish after the frame it is on (from another thread too)."""
        self._stopping.set()

    def close(self) -> None:
        self.stop()
        self._release()

    def _read(
        self, capture: Capture, limiter: RateLimiter, start: datetime, offset_ms: float
    ) -> Generator[SourceFrame, None, float | None]:
        """Frames of one connection; returns the stream time one pass lasted (files)."""
        fps = capture.get(cv2.CAP_PROP_FPS)
        period_ms = 1000.0 / fps if math.isfinite(fps) and fps > 0 else 0.0
        paced_from = time.monotonic()
        last_ms: float | None = None
        count = 0
        while not self.stopped and capture.grab():
            index = self.stats.read
            self.stats.read += 1
            if self.kind.live:
                moment = self.clock().astimezone(UTC)
                ms = (moment - start).total_seconds() * 1000.0
            else:
                ms = capture.get(cv2.CAP_PROP_POS_MSEC)
                if last_ms is not None and ms <= last_ms and period_ms > 0:
                    ms = count * period_ms  # a container without timestamps
                last_ms = ms
                moment = start + timedelta(milliseconds=offset_ms + ms)
                ms += offset_ms
            count += 1
            if self._over(ms):
                self.stats.ended = True
                self.stop()
                break
            if not limiter.due(ms):
                self.stats.skipped += 1
                continue
            ok, image = capture.retrieve()
            if not ok or image is None:
                self.stats.last_error = f"frame {index} could not be decoded"
                continue
            if self.config.realtime and not self.kind.live:
                self.sleep(max(0.0, paced_from + (ms - offset_ms) / 1000.0 - time.monotonic()))
            self.stats.delivered += 1
            yield SourceFrame(np.asarray(image, dtype=np.uint8), moment, index, time.monotonic())
        if last_ms is None:
            return None
        return last_ms + period_ms

    def _over(self, ms: float) -> bool:
        """Past `duration_seconds` of stream time (live: since `frames` began)."""
        limit = self.config.duration_seconds
        return limit is not None and ms >= limit * 1000.0

    def _connect(self) -> Capture | None:
        """An open capture; live sources retry with back-off, others fail at once."""
        failures = 0
        while not self.stopped:
            if self.kind is SourceKind.FILE and not os.path.isfile(self.config.uri):
                raise SourceError(f"no such video file or folder: {self.config.uri}")
            capture = self._try_open()
            if capture is not None:
                if self.stats.read or failures:
                    self.stats.reconnects += 1
                return capture
            failures += 1
            if not self.kind.live:
                raise SourceError(f"cannot open {self.config.uri}: {self.stats.last_error}")
            if self.config.retries is not None and failures > self.config.retries:
                raise SourceError(
                    f"gave up on {self.config.uri} after {failures} attempts: "
                    f"{self.stats.last_error}"
                )
            wait = min(
                self.config.retry_most_seconds,
                self.config.retry_first_seconds * 2 ** (failures - 1),
            )
            logger.warning(
                "%s: %s; retrying in %.1fs", self.config.uri, self.stats.last_error, wait
            )
            self.sleep(wait)
        return None

    def _try_open(self) -> Capture | None:
        try:
            capture = self.opener(self.config.uri, self.kind)
        except (OSError, cv2.error) as error:
            self.stats.last_error = f"cannot open: {error}"
            return None
        if not capture.isOpened():
            capture.release()
            self.stats.last_error = (
                "no images in the folder"
                if self.kind is SourceKind.FOLDER
                else "cannot open (no stream, refused or unreadable)"
            )
            return None
        self._capture = capture
        return capture

    def _release(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None
