"""Video throughput: 1, 4 and 8 concurrent 768x576 streams at 5 fps, motion gating on and off.

Every camera reads its own copy of opencv-doc's vtest.avi (PETS 2009, 768x576, 10 fps;
`$VIGIL_VTEST`) through the store runtime: one worker process per core, the cameras split
between them, one ONNX Runtime and one OpenCV thread per worker, NanoDet from
`$VIGIL_NANODET` (default `/work/shared/models/nanodet.onnx`) or the model cache; point
it at `vigil models quantise`'s output to measure the int8 variant.

- Capacity (files read as fast as they decode, `$VIGIL_BENCH_VIDEO_SECONDS` of video per
  camera, default 10): analysed frames a second in total and per camera, CPU per camera as
  a share of one core at 5 fps (reading and decoding every frame included), and how often
  the detector ran. Worker start-up (spawn, imports, model load) is not timed: the clock
  runs from the first worker's first frame to the last camera's end.
- Real time (8 cameras, files paced at their own 10 fps like live cameras, gating on): the
  analysed rate per camera, frames dropped because analysis fell behind, and the lag.
- A still scene (vtest's first frame held, as a quiet shop): what gating saves when little
  moves. On vtest itself someone is always walking, so the detector runs on every frame.

8 cameras keep real time when the capacity run analyses at least 40 frames a second
(`realtime margin` >= 1) and the paced run drops nothing. `events` and `repeat` do not
apply: one run per setting (they take minutes).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.types import Figure

VTEST = Path(os.environ.get("VIGIL_VTEST", "/usr/share/doc/opencv-doc/examples/data/vtest.avi"))
NANODET = Path(os.environ.get("VIGIL_NANODET", "/work/shared/models/nanodet.onnx"))
SECONDS = float(os.environ.get("VIGIL_BENCH_VIDEO_SECONDS", "10"))
FPS = 5.0
CAMERAS = (1, 4, 8)
TARGET = 8


@dataclass(frozen=True)
class Result:
    """One setting's run."""

    scene: str
    cameras: int
    gating: bool
    paced: bool
    analysed: int
    seconds: float
    cpu_seconds: float
    """All cameras together."""
    detector_runs: int
    drops: int
    max_lag: float

    @property
    def fps(self) -> float:
        return self.analysed / self.seconds

    @property
    def core_share(self) -> float:
        """CPU per camera as a share of one core, at 5 analysed frames a second."""
        return self.cpu_seconds / max(self.analysed, 1) * FPS


def _still_clip(folder: Path) -> Path:
    """vtest's first frame held for the benchmark's length, at its 10 fps: nothing moves."""
    import cv2

    capture = cv2.VideoCapture(str(VTEST))
    ok, frame = capture.read()
    capture.release()
    if not ok:
        raise RuntimeError(f"cannot read {VTEST}")
    path = folder / "still.avi"
    height, width = frame.shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (width, height))
    for _ in range(round(SECONDS * 10) + 10):
        writer.write(frame)
    writer.release()
    return path


def _run(clip: Path, cameras: int, gating: bool, paced: bool) -> Result:
    from vigil.estate import load_sample_estate
    from vigil.video.camera import CameraHealth, CameraSpec, CameraState
    from vigil.video.detectors import NanoDetConfig
    from vigil.video.motion import MotionConfig
    from vigil.video.pipeline import PipelineConfig
    from vigil.video.runtime import VideoRuntime
    from vigil.video.sources import SourceConfig
    from vigil.video.zones import load_sample_zones

    estate = load_sample_estate()
    view = load_sample_zones().camera("pets2009-view001")
    model = NanoDetConfig(model=NANODET) if NANODET.is_file() else NanoDetConfig()
    start = datetime(2026, 3, 4, 20, tzinfo=UTC)
    specs = [
        CameraSpec(
            store_uid="031",
            source=SourceConfig(
                uri=str(clip), fps=FPS, start=start, duration_seconds=SECONDS, realtime=paced
            ),
            zones=view.model_copy(update={"uid": f"cam-{k}"}),
            model=model,
            pipeline=PipelineConfig(motion=MotionConfig(enabled=gating)),
        )
        for k in range(cameras)
    ]
    workers = min(cameras, os.cpu_count() or 1)
    first: list[datetime] = []

    def starting(health: CameraHealth) -> None:
        if health.state is CameraState.STARTING:
            first.append(health.at)

    runtime = VideoRuntime(
        specs, estate, cameras_per_worker=-(-cameras // workers), on_health=starting
    )
    final = runtime.run()
    if runtime.errors or any(h.state is not CameraState.ENDED for h in final.values()):
        raise RuntimeError(f"video bench failed: {runtime.errors or final}")
    seconds = (max(h.at for h in final.values()) - min(first)).total_seconds()
    return Result(
        scene="still" if clip != VTEST else "vtest",
        cameras=cameras,
        gating=gating,
        paced=paced,
        analysed=sum(h.analysed for h in final.values()),
        seconds=seconds,
        cpu_seconds=sum(h.cpu_seconds for h in final.values()),
        detector_runs=sum(h.detector_runs for h in final.values()),
        drops=sum(h.drops for h in final.values()),
        max_lag=max(h.lag_seconds for h in final.values()),
    )


def run(events: int, repeat: int) -> list[Figure]:
    console = Console(width=max(Console().width, 120))
    if not VTEST.is_file():
        console.print(f"[yellow]video skipped: no {VTEST} (install opencv-doc)[/]")
        return []
    load = os.getloadavg()[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="vigil-bench-video-") as folder:
        still = _still_clip(Path(folder))
        settings = [(VTEST, cameras, gating) for cameras in CAMERAS for gating in (True, False)]
        for clip, cameras, gating in [*settings, (still, TARGET, True), (still, TARGET, False)]:
            started = time.perf_counter()
            results.append(_run(clip, cameras, gating, paced=False))
            took = time.perf_counter() - started
            console.print(f"[dim]{clip.name}: {cameras} cameras, gating {gating}: {took:.0f} s[/]")
    paced = _run(VTEST, TARGET, gating=True, paced=True)
    table = Table(
        title=f"video: {SECONDS:g} s of video per camera at {FPS:g} fps, "
        f"{os.cpu_count()} cores, load {load:.1f} before, "
        f"model {NANODET.name if NANODET.is_file() else 'nanodet (cache)'}",
        title_justify="left",
    )
    columns = ["scene", "cameras", "gating", "paced", "analysed fps", "per camera"]
    columns += ["CPU/camera", "detector runs", "drops", "max lag"]
    for column in columns:
        table.add_column(column, justify="right")
    for result in [*results, paced]:
        table.add_row(
            result.scene,
            str(result.cameras),
            "on" if result.gating else "off",
            "yes" if result.paced else "no",
            f"{result.fps:.1f}",
            f"{result.fps / result.cameras:.2f}",
            f"{result.core_share:.0%}",
            f"{result.detector_runs / result.analysed:.0%}",
            str(result.drops),
            f"{result.max_lag:.2f} s",
        )
    console.print(table)
    return _figures(results, paced, load)


def _figures(results: list[Result], paced: Result, load: float) -> list[Figure]:
    figures = [Figure("load average before (1 min)", load * 100, "% of a core")]
    for result in results:
        gating = "on" if result.gating else "off"
        name = f"{result.scene}, {result.cameras} cam, gating {gating}"
        figures += [
            Figure(f"{name}: analysed", result.fps * 60, "frames/min"),
            Figure(f"{name}: per camera", result.fps / result.cameras * 60, "frames/min", 300),
            Figure(f"{name}: CPU per camera", result.core_share * 100, "% of a core"),
            Figure(f"{name}: detector runs", result.detector_runs / result.analysed * 100, "%"),
        ]
    target = [r for r in results if r.cameras == TARGET and r.scene == "vtest"]
    best = max(target, key=lambda r: r.fps)
    figures.append(
        Figure(f"{TARGET} cam realtime margin (best)", best.fps / (TARGET * FPS) * 100, "%", 100)
    )
    figures += [
        Figure(f"{TARGET} cam paced: per camera", paced.fps / TARGET * 60, "frames/min", 300),
        Figure(f"{TARGET} cam paced: dropped", paced.drops, "frames"),
        Figure(f"{TARGET} cam paced: max lag", paced.max_lag * 1000, "ms"),
    ]
    return figures
