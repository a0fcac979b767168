"""The store's video runtime: cameras in groups, one worker process per group, health and events.

    runtime = VideoRuntime(cameras, estate, cameras_per_worker=4, on_events=log.write)
    runtime.start()
    ...
    health = runtime.stop()          # graceful: open visits are closed, files finished

Analysis is CPU-bound, so each group of cameras gets its own process (`spawn`, so no
thread or ONNX session is inherited half-made) and nothing runs inside an event loop.
Give each worker `threads_per_worker` ONNX Runtime / OpenCV threads and run no more
workers than cores, so workers do not fight over them. With `processes=False` the
workers are threads of this process (one camera, tests, debugging): same code, same
messages.

Events reach `on_events` in the calling thread, in time order per camera. They are
`VideoObservation` events; the hand-off to ingest is the caller's choice, e.g.
`EventLog` (OCSF JSON lines that ingest's `tail` connector follows with the
`ocsf_json` parser): video never imports ingest.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from vigil.estate import Estate
from vigil.events import VideoObservation
from vigil.video.camera import (
    CameraHealth,
    CameraSpec,
    EventsMessage,
    HealthMessage,
    WorkerExit,
    WorkerMessage,
)
from vigil.video.errors import VideoError
from vigil.video.worker import run_worker

logger = logging.getLogger(__name__)

OnEvents = Callable[[Sequence[VideoObservation]], None]
OnHealth = Callable[[CameraHealth], None]


class RuntimeConfigError(VideoError):
    """A runtime that cannot start: no cameras, cameras named twice, bad sizes."""


class _Inbox(Protocol):
    def get(self, block: bool = True, timeout: float | None = None) -> WorkerMessage: ...

    def put(self, item: WorkerMessage, /) -> None: ...


class _Flag(Protocol):
    def set(self) -> None: ...

    def is_set(self) -> bool: ...


class _Runner(Protocol):
    def start(self) -> None: ...

    def join(self, timeout: float | None = None) -> None: ...

    def is_alive(self) -> bool: ...


class VideoRuntime:
    """Starts the workers, relays their events and health, and stops them gracefully."""

    def __init__(
        self,
        cameras: Sequence[CameraSpec],
        estate: Estate,
        *,
        cameras_per_worker: int = 4,
        threads_per_worker: int = 1,
        processes: bool = True,
        health_seconds: float = 1.0,
        on_events: OnEvents | None = None,
        on_health: OnHealth | None = None,
    ) -> None:
        if not cameras:
            raise RuntimeConfigError("no cameras to run")
        uids = [camera.uid for camera in cameras]
        twice = sorted({uid for uid in uids if uids.count(uid) > 1})
        if twice:
            raise RuntimeConfigError(f"cameras named more than once: {', '.join(twice)}")
        if cameras_per_worker < 1 or threads_per_worker < 1:
            raise RuntimeConfigError("cameras_per_worker and threads_per_worker must be at least 1")
        self.cameras = list(cameras)
        self.estate = estate
        self.groups = [
            self.cameras[start : start + cameras_per_worker]
            for start in range(0, len(self.cameras), cameras_per_worker)
        ]
        self.threads = threads_per_worker
        self.processes = processes
        self.health_seconds = health_seconds
        self.on_events = on_events
        self.on_health = on_health
        self.health: dict[str, CameraHealth] = {}
        self.errors: list[str] = []
        """Workers that crashed or had to be terminated, with what they said."""
        self._runners: list[_Runner] = []
        self._exited: set[int] = set()
        self._inbox: _Inbox | None = None
        self._stop_flag: _Flag = threading.Event()

    @property
    def running(self) -> bool:
        return self._inbox is not None and len(self._exited) < len(self._runners)

    def start(self) -> None:
        if self._inbox is not None:
            raise RuntimeConfigError("the runtime was already started")
        inbox: _Inbox
        make: Callable[..., _Runner]
        if self.processes:
            context = mp.get_context("spawn")
            inbox, self._stop_flag, make = context.Queue(), context.Event(), context.Process
        else:
            inbox, self._stop_flag, make = queue.Queue(), threading.Event(), threading.Thread
        self._runners = [
            make(
                target=run_worker,
                name=f"vigil-video-{index}",
                args=(index, group, self.estate, inbox, self._stop_flag, self.threads),
                kwargs={"health_seconds": self.health_seconds, "own_process": self.processes},
            )
            for index, group in enumerate(self.groups)
        ]
        self._inbox = inbox
        for runner in self._runners:
            runner.start()

    def poll(self, timeout: float = 0.1) -> bool:
        """Relay what the workers sent within `timeout` seconds; True while any is running."""
        if self._inbox is None:
            raise RuntimeConfigError("start the runtime first")
        deadline = time.monotonic() + timeout
        while self.running:
            try:
                message = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self._handle(message)
        return self.running

    def run(self, seconds: float | None = None) -> dict[str, CameraHealth]:
        """Start, relay until every source ends (or `seconds` pass), stop; final health."""
        if self._inbox is None:
            self.start()
        until = None if seconds is None else time.monotonic() + seconds
        while self.poll(0.2):
            if until is not None and time.monotonic() >= until:
                break
        return self.stop()

    def stop(self, grace_seconds: float = 30.0) -> dict[str, CameraHealth]:
        """Ask every worker to finish, relay their last events, join; final health.

        A worker still running after `grace_seconds` is terminated (and reported).
        """
        if self._inbox is None:
            return self.health
        self._stop_flag.set()
        deadline = time.monotonic() + grace_seconds
        while self.running and time.monotonic() < deadline:
            self.poll(0.2)
        for index, runner in enumerate(self._runners):
            runner.join(timeout=max(0.1, deadline - time.monotonic()))
            if runner.is_alive() and isinstance(runner, mp.process.BaseProcess):
                runner.terminate()
                runner.join(5)
                self.errors.append(f"worker {index} did not stop in time and was terminated")
        return self.health

    def _handle(self, message: WorkerMessage) -> None:
        if isinstance(message, EventsMessage):
            if self.on_events is not None:
                self.on_events(message.events)
        elif isinstance(message, HealthMessage):
            self.health[message.health.camera] = message.health
            if self.on_health is not None:
                self.on_health(message.health)
        elif isinstance(message, WorkerExit):
            self._exited.add(message.worker)
            if message.error is not None:
                self.errors.append(f"worker {message.worker}: {message.error}")
