"""A video worker: one process analysing a group of cameras, round robin, on one core.

Each camera has a reader thread (`FrameFeed`: OpenCV decodes outside the GIL) that
hands due frames to the worker's main thread, which runs every CPU-bound step
(motion, detector, tracker, behaviours) itself, one frame per camera in turn; no
asyncio anywhere. A file waits for the analysis (nothing is lost); a live camera
never waits: when analysis falls behind, the older due frame is dropped and counted,
so lag stays bounded. Cameras of a worker with the same model share one ONNX session.

Everything leaves through `outbox` as typed messages: events as they happen, health
every `health_seconds`, and `WorkerExit` last.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

import cv2

from vigil.estate import Estate, EstateError
from vigil.events import VideoObservation
from vigil.video.annotate import AnnotatedVideo, draw
from vigil.video.camera import (
    CameraHealth,
    CameraSpec,
    CameraState,
    EventsMessage,
    HealthMessage,
    WorkerExit,
    WorkerMessage,
)
from vigil.video.capture import Image
from vigil.video.detectors import OnnxDetector, build_detector
from vigil.video.errors import SourceError, VideoError
from vigil.video.heatmap import HeatMap
from vigil.video.pipeline import AnalysedFrame, VideoPipeline
from vigil.video.privacy import Privacy
from vigil.video.snapshots import SnapshotStore
from vigil.video.sources import SourceFrame, VideoSource

logger = logging.getLogger(__name__)

BUFFERED_FRAMES = 2
UNPACED_FPS = 25.0
"""Tracker rate assumed for a source analysed at every frame (`fps` unset)."""


class Outbox(Protocol):
    """Where a worker's messages go: a multiprocessing queue, or a plain one in-process."""

    def put(self, item: WorkerMessage) -> None: ...


class StopFlag(Protocol):
    def is_set(self) -> bool: ...


class FrameFeed:
    """Reads one camera in a thread and hands over due frames."""

    def __init__(self, source: VideoSource, latest_only: bool, wake: threading.Event) -> None:
        self.source = source
        self.latest_only = latest_only
        self.wake = wake
        self.frames: queue.Queue[SourceFrame] = queue.Queue(maxsize=BUFFERED_FRAMES)
        self.drops = 0
        self.error: str | None = None
        self.cpu_seconds = 0.0
        self.finished = False
        self.thread = threading.Thread(
            target=self._read, name=f"feed {source.config.uri}", daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    @property
    def done(self) -> bool:
        return self.finished and self.frames.empty()

    def take(self) -> SourceFrame | None:
        try:
            return self.frames.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        self.source.stop()
        if self.thread.is_alive():
            self.thread.join()
        self.source.close()

    def _read(self) -> None:
        try:
            for frame in self.source.frames():
                self._offer(frame)
                self.cpu_seconds = time.thread_time()
                self.wake.set()
        except SourceError as error:
            self.error = str(error)
            logger.error("%s", error)
        finally:
            self.cpu_seconds = time.thread_time()
            self.finished = True
            self.wake.set()

    def _offer(self, frame: SourceFrame) -> None:
        if self.latest_only:
            while True:
                try:
                    self.frames.put_nowait(frame)
                    return
                except queue.Full:
                    try:
                        self.frames.get_nowait()
                        self.drops += 1
                    except queue.Empty:
                        pass
        while not self.source.stopped:
            try:
                self.frames.put(frame, timeout=0.1)
                return
            except queue.Full:
                continue


class CameraRunner:
    """One camera inside a worker: its feed, pipeline, outputs and counters."""

    def __init__(
        self,
        spec: CameraSpec,
        estate: Estate,
        detector: OnnxDetector,
        worker: int,
        wake: threading.Event,
    ) -> None:
        self.spec = spec
        self.worker = worker
        camera = spec.zones
        outputs = spec.outputs
        self.heatmap = (
            HeatMap(camera.width, camera.height, outputs.heatmap_cell)
            if outputs is not None and outputs.heatmap
            else None
        )
        snapshots = (
            None
            if spec.snapshots is None
            else SnapshotStore(spec.snapshots, Privacy(spec.pipeline.privacy))
        )
        fps = spec.source.fps or UNPACED_FPS
        self.pipeline = VideoPipeline(
            camera,
            detector,
            estate.store(spec.store_uid),
            estate,
            fps=fps,
            config=spec.pipeline,
            snapshots=snapshots,
            heatmap=self.heatmap,
        )
        self.video = (
            AnnotatedVideo(outputs.folder / f"{camera.uid}.mp4", fps, (camera.width, camera.height))
            if outputs is not None and outputs.video
            else None
        )
        self.source = VideoSource(spec.source)
        live = spec.source.kind.live or spec.source.realtime
        self.feed = FrameFeed(self.source, latest_only=live, wake=wake)
        self.cpu_seconds = 0.0
        self.lag = 0.0
        self.errors = 0
        self.last_error: str | None = None
        self._mark = (time.monotonic(), 0, 0)

    @property
    def uid(self) -> str:
        return self.spec.uid

    def step(self) -> list[VideoObservation] | None:
        """Analyse the next due frame, if one is waiting; its events."""
        frame = self.feed.take()
        if frame is None:
            return None
        started = time.thread_time()
        try:
            analysed = self.pipeline.process(frame)
            if self.video is not None:
                self.video.write(self._annotated(analysed))
        except VideoError as error:
            self.errors += 1
            self.last_error = str(error)
            logger.warning("%s: frame %d: %s", self.uid, frame.index, error)
            return []
        finally:
            self.cpu_seconds += time.thread_time() - started
        self.lag = time.monotonic() - frame.read_at
        return analysed.events

    def finish(self) -> list[VideoObservation]:
        """Close the camera: end open visits, write the heat map, close the video."""
        events = self.pipeline.finish()
        if self.video is not None:
            self.video.close()
        try:
            self._write_heatmap()
        except (VideoError, OSError) as error:
            self.errors += 1
            self.last_error = f"heat map not written: {error}"
            logger.error("%s: %s", self.uid, self.last_error)
        return events

    def _write_heatmap(self) -> None:
        last = self.pipeline.last
        if self.heatmap is None or self.spec.outputs is None or last is None:
            return
        folder = self.spec.outputs.folder
        folder.mkdir(parents=True, exist_ok=True)
        self.heatmap.write_png(folder / f"{self.uid}-heatmap.png", self.pipeline.exportable(last))
        (folder / f"{self.uid}-heatmap.json").write_text(self.heatmap.to_json())

    def health(self, state: CameraState) -> CameraHealth:
        stats, source = self.pipeline.stats, self.source.stats
        now = time.monotonic()
        since, frames_before, analysed_before = self._mark
        elapsed = max(now - since, 1e-9)
        self._mark = (now, source.read, stats.analysed)
        return CameraHealth(
            camera=self.uid,
            worker=self.worker,
            state=state,
            at=datetime.now(UTC),
            frames_in=source.read,
            analysed=stats.analysed,
            skipped=source.skipped,
            drops=self.feed.drops,
            fps_in=(source.read - frames_before) / elapsed,
            fps_analysed=(stats.analysed - analysed_before) / elapsed,
            lag_seconds=self.lag,
            detector_runs=stats.detector_runs,
            full_frames=stats.full_frames,
            region_frames=stats.region_frames,
            idle_frames=stats.idle_frames,
            reconnects=source.reconnects,
            errors=self.errors,
            last_error=self.feed.error or self.last_error or source.last_error,
            cpu_seconds=self.cpu_seconds + self.feed.cpu_seconds,
            events=dict(stats.events),
            footfall=tuple(self.pipeline.engine.footfall()),
        )

    def _annotated(self, analysed: AnalysedFrame) -> Image:
        region = analysed.gate.region
        image = self.pipeline.exportable(analysed)
        return draw(image, self.spec.zones, analysed.people, region, analysed.time)


class Worker:
    """Runs a group of cameras until their sources end or `stop` is set."""

    def __init__(
        self,
        worker: int,
        specs: Sequence[CameraSpec],
        estate: Estate,
        outbox: Outbox,
        stop: StopFlag,
        *,
        threads: int = 1,
        health_seconds: float = 1.0,
    ) -> None:
        self.worker = worker
        self.specs = specs
        self.estate = estate
        self.outbox = outbox
        self.stop = stop
        self.threads = threads
        self.health_seconds = health_seconds
        self.wake = threading.Event()
        self.detectors: dict[str, OnnxDetector] = {}

    def run(self) -> None:
        runners = [runner for spec in self.specs if (runner := self._start(spec)) is not None]
        for runner in runners:
            runner.feed.start()
            self._health(runner, CameraState.STARTING)
        try:
            self._analyse(runners)
        finally:  # a crash too: no reader thread may outlive the worker
            for runner in runners:
                runner.feed.stop()
        stopped = self.stop.is_set()
        for runner in runners:
            events = runner.finish()
            if events:
                self.outbox.put(EventsMessage(runner.uid, tuple(events)))
            failed = runner.feed.error is not None
            state = CameraState.FAILED if failed else CameraState.ENDED
            self._health(runner, CameraState.STOPPED if stopped and not failed else state)

    def _analyse(self, runners: list[CameraRunner]) -> None:
        """One due frame per camera in turn until every feed is done or `stop` is set."""
        reported = time.monotonic()
        while not self.stop.is_set():
            active = [runner for runner in runners if not runner.feed.done]
            if not active:
                return
            worked = False
            for runner in active:
                events = runner.step()
                if events is None:
                    continue
                worked = True
                if events:
                    self.outbox.put(EventsMessage(runner.uid, tuple(events)))
            if time.monotonic() - reported >= self.health_seconds:
                reported = time.monotonic()
                for runner in runners:
                    self._health(runner, CameraState.RUNNING)
            if not worked:
                self.wake.wait(0.05)
                self.wake.clear()

    def _start(self, spec: CameraSpec) -> CameraRunner | None:
        try:
            return CameraRunner(spec, self.estate, self._detector(spec), self.worker, self.wake)
        except (VideoError, EstateError) as error:
            message = f"{type(error).__name__}: {error}"
            logger.error("camera %s cannot start: %s", spec.uid, message)
            health = CameraHealth(
                spec.uid, self.worker, CameraState.FAILED, datetime.now(UTC), last_error=message
            )
            self.outbox.put(HealthMessage(health))
            return None

    def _detector(self, spec: CameraSpec) -> OnnxDetector:
        config = spec.model.model_copy(update={"threads": self.threads})
        key = config.model_dump_json()
        if key not in self.detectors:
            self.detectors[key] = build_detector(config)
        return self.detectors[key]

    def _health(self, runner: CameraRunner, state: CameraState) -> None:
        self.outbox.put(HealthMessage(runner.health(state)))


def run_worker(
    worker: int,
    specs: Sequence[CameraSpec],
    estate: Estate,
    outbox: Outbox,
    stop: StopFlag,
    threads: int,
    health_seconds: float,
    own_process: bool,
) -> None:
    """A worker's whole life; always ends with `WorkerExit`, with the error if it crashed."""
    if own_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops workers gracefully
        cv2.setNumThreads(threads)
    error: str | None = None
    try:
        Worker(
            worker, specs, estate, outbox, stop, threads=threads, health_seconds=health_seconds
        ).run()
    except Exception as crash:  # reported to the parent rather than lost with the process
        logger.exception("video worker %d crashed", worker)
        error = f"{type(crash).__name__}: {crash}"
    finally:
        outbox.put(WorkerExit(worker, error))
