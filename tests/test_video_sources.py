"""Video sources: files, image folders and HTTP streams through OpenCV; frames kept by timestamp;
stream time for files, wall clock for live sources; reconnects with back-off."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from video_fakes import NOON_UTC, FakeCapture, FakeClock, Opener, background, walking_clip
from vigil.video.capture import SourceKind, source_kind
from vigil.video.errors import SourceError
from vigil.video.sources import RateLimiter, SourceConfig, VideoSource


def numbered(count: int) -> list[np.ndarray]:
    """Frames whose first pixel holds their number."""
    frames = []
    for number in range(count):
        image = background()
        image[0, 0] = number
        frames.append(image)
    return frames


def ms_since(moment: datetime, start: datetime = NOON_UTC) -> float:
    return (moment - start) / timedelta(milliseconds=1)


@pytest.mark.parametrize(
    ("uri", "kind"),
    [
        ("rtsp://10.31.40.11/stream1", SourceKind.STREAM),
        ("HTTP://cam.local/mjpeg", SourceKind.STREAM),
        ("0", SourceKind.DEVICE),
        ("clip.mp4", SourceKind.FILE),
    ],
)
def test_source_kind_from_the_uri(uri: str, kind: SourceKind) -> None:
    assert source_kind(uri) is kind


def test_a_file_is_read_at_the_analysis_rate_with_stream_times_then_ends(tmp_path: Path) -> None:
    clip = walking_clip(tmp_path / "walk.avi", frames=20, fps=10)
    source = VideoSource(SourceConfig(uri=str(clip), fps=5, start=NOON_UTC))
    frames = list(source.frames())
    assert [frame.index for frame in frames] == list(range(0, 20, 2))
    assert [ms_since(frame.time) for frame in frames] == [200.0 * k for k in range(10)]
    assert all(frame.time.tzinfo is UTC for frame in frames)
    assert frames[0].image.shape == (240, 320, 3)
    assert source.stats.read == 20
    assert source.stats.skipped == 10
    assert source.stats.ended
    assert source.stats.reconnects == 0


def test_frames_are_dropped_by_timestamp_not_by_count() -> None:
    """An irregular stream: slots every 200 ms from the first frame; each slot takes the first
    frame at or after it. Every other frame (by count) would keep 0, 90, 210, 390."""
    times = [0, 30, 90, 100, 210, 250, 390, 400, 590, 610]
    capture = FakeCapture(numbered(len(times)), times)
    source = VideoSource(
        SourceConfig(uri="clip.mp4", fps=5, start=NOON_UTC),
        opener=Opener([capture]),
    )
    source.kind = SourceKind.FOLDER  # a fake file: skip the check that it exists on disk
    kept = [ms_since(frame.time) for frame in source.frames()]
    assert kept == [0.0, 210.0, 400.0, 610.0]
    limiter = RateLimiter(5.0)
    assert [limiter.due(ms) for ms in (0, 150, 199.8, 260, 600, 700, 800)] == [
        True,
        False,
        True,  # within half a millisecond of its slot
        False,
        True,  # a gap: the next slot is 200 ms after this frame, not a burst to catch up
        False,
        True,
    ]


def test_an_image_folder_is_timed_by_its_frame_rate_and_can_loop(tmp_path: Path) -> None:
    for number, image in enumerate(numbered(3)):
        cv2.imwrite(str(tmp_path / f"{number:04d}.png"), image)
    (tmp_path / "notes.txt").write_text("not an image")
    config = SourceConfig(
        uri=str(tmp_path), fps=None, folder_fps=5, start=NOON_UTC, loop=True, duration_seconds=1.4
    )
    source = VideoSource(config)
    assert source.kind is SourceKind.FOLDER
    frames = list(source.frames())
    assert [int(frame.image[0, 0, 0]) for frame in frames] == [0, 1, 2, 0, 1, 2, 0]
    assert [ms_since(frame.time) for frame in frames] == [200.0 * k for k in range(7)]
    assert source.stats.ended


def test_a_live_source_that_fails_to_open_retries_with_back_off_then_reads() -> None:
    sleeps: list[float] = []
    opener = Opener([FakeCapture(numbered(4), [0, 0, 0, 0])], failures=3)
    clock = FakeClock(step=timedelta(milliseconds=100))
    source = VideoSource(
        SourceConfig(uri="rtsp://cam/1", fps=None, retries=5),
        opener=opener,
        sleep=sleeps.append,
        clock=clock,
    )
    frames = []
    with pytest.raises(SourceError, match="gave up on rtsp://cam/1 after 6 attempts"):
        frames.extend(source.frames())
    assert len(frames) == 4
    assert sleeps == [0.5, 1.0, 2.0, 0.5, 1.0, 2.0, 4.0, 8.0]  # 3 fails; drop; 5 + 1 more fails
    assert source.stats.reconnects == 1
    assert source.stats.last_error is not None
    assert "cannot open" in source.stats.last_error
    # live frames are timed by the wall clock (the fake one), one tick per grabbed frame
    times = [ms_since(frame.time) for frame in frames]
    assert times == sorted(times)
    assert all(frame.time.tzinfo is UTC for frame in frames)


def test_a_dropped_stream_reconnects_and_carries_on() -> None:
    first = FakeCapture(numbered(3), [0, 0, 0])
    second = FakeCapture(numbered(2), [0, 0])
    opener = Opener([first, second])
    sleeps: list[float] = []
    source = VideoSource(
        SourceConfig(uri="http://cam/video", fps=None, retries=0),
        opener=opener,
        sleep=sleeps.append,
        clock=FakeClock(),
    )
    frames = []
    with pytest.raises(SourceError, match="gave up"):
        frames.extend(source.frames())
    assert len(frames) == 5
    assert first.released
    assert second.released
    assert source.stats.reconnects == 1
    assert sleeps == []  # reopening after a drop is immediate; waits are for failed opens


def test_back_off_is_capped() -> None:
    sleeps: list[float] = []
    source = VideoSource(
        SourceConfig(uri="rtsp://cam/1", retries=6, retry_first_seconds=1, retry_most_seconds=5),
        opener=Opener([], failures=100),
        sleep=sleeps.append,
    )
    with pytest.raises(SourceError):
        list(source.frames())
    assert sleeps == [1, 2, 4, 5, 5, 5]


def test_stop_ends_a_live_source_between_frames() -> None:
    capture = FakeCapture(numbered(50), [0] * 50)
    source = VideoSource(
        SourceConfig(uri="rtsp://cam/1", fps=None), opener=Opener([capture]), clock=FakeClock()
    )
    taken = []
    for frame in source.frames():
        taken.append(frame)
        if len(taken) == 3:
            source.stop()
    assert len(taken) == 3
    assert capture.released


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (SourceConfig(uri="/no/such/clip.mp4"), "no such video file or folder"),
        (SourceConfig(uri="clip.mp4", start=datetime(2026, 1, 1)), "aware"),
    ],
)
def test_bad_sources_say_what_is_wrong(config: SourceConfig, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        list(VideoSource(config).frames())


def test_an_empty_folder_or_a_broken_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images in the folder"):
        list(VideoSource(SourceConfig(uri=str(tmp_path))).frames())
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 512)
    with pytest.raises(SourceError, match="cannot open"):
        list(VideoSource(SourceConfig(uri=str(broken))).frames())


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server serving a synthetic clip, on a free port."""
    walking_clip(tmp_path / "walk.avi", frames=20, fps=10)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))

    class Quiet(http.server.ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            pass  # the client hanging up mid-file is expected

    server = Quiet(("127.0.0.1", 0), handler)
    server.RequestHandlerClass.log_message = lambda *args: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_an_http_stream_is_read_through_ffmpeg_with_wall_clock_times(http_server: str) -> None:
    clock = FakeClock(step=timedelta(milliseconds=100))
    source = VideoSource(SourceConfig(uri=f"{http_server}/walk.avi", fps=5), clock=clock)
    assert source.kind is SourceKind.STREAM
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 6:
            source.stop()
    assert [frame.image.shape for frame in frames] == [(240, 320, 3)] * 6
    # one tick of the fake wall clock per grabbed frame (plus one at the start): every other
    # frame is due at 5 fps
    assert [ms_since(frame.time, NOON_UTC + timedelta(milliseconds=100)) for frame in frames] == [
        0.0,
        200.0,
        400.0,
        600.0,
        800.0,
        1000.0,
    ]


def test_an_unreachable_stream_is_given_up_after_its_retries(http_server: str) -> None:
    sleeps: list[float] = []
    source = VideoSource(
        SourceConfig(uri=f"{http_server}/missing.avi", retries=2), sleep=sleeps.append
    )
    with pytest.raises(SourceError, match="after 3 attempts"):
        list(source.frames())
    assert sleeps == [0.5, 1.0]
