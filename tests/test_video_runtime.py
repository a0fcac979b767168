"""The video runtime: workers in processes (or threads) analysing groups of cameras, events and
health handed back, graceful stop, failures kept to their camera; and `vigil video run`."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from video_fakes import NOON_UTC, FakeCapture, FakeClock, Opener, constant_nanodet, walking_clip
from video_helpers import ESTATE, camera, rect
from vigil.cli_video import app
from vigil.events import VideoObservation, batches_from_json_lines
from vigil.video.behaviours import Activity
from vigil.video.camera import CameraHealth, CameraSpec, CameraState
from vigil.video.detectors import NanoDetConfig
from vigil.video.heatmap import HeatMap
from vigil.video.motion import MotionConfig
from vigil.video.pipeline import PipelineConfig
from vigil.video.runtime import RuntimeConfigError, VideoRuntime
from vigil.video.sink import EventLog
from vigil.video.sources import SourceConfig, VideoSource
from vigil.video.worker import FrameFeed

# The constant model's person: frame box (40, 30, 200, 210), standing at (120, 210).
FLOOR = {
    "id": "floor",
    "kind": "area",
    "polygon": rect(60, 150, 200, 239),
    "report_entry_exit": True,
}
NO_GATING = PipelineConfig(motion=MotionConfig(enabled=False))


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return constant_nanodet(tmp_path_factory.mktemp("model") / "nanodet.onnx", (1, 2, 1, 1))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return walking_clip(tmp_path_factory.mktemp("clip") / "walk.avi", frames=40, fps=10)


def spec(uid: str, uri: str, model: Path, **source: object) -> CameraSpec:
    zones = camera(zones=[FLOOR]).model_copy(update={"uid": uid})
    return CameraSpec(
        store_uid="031",
        source=SourceConfig.model_validate({"uri": uri, "fps": 5, "start": NOON_UTC, **source}),
        zones=zones,
        model=NanoDetConfig(model=model, confidence=0.3),
        pipeline=NO_GATING,
    )


def activities(events: list[VideoObservation]) -> list[Activity]:
    return sorted(Activity(event.activity_id) for event in events)


@pytest.mark.parametrize(
    "processes",
    [pytest.param(True, marks=pytest.mark.slow, id="processes"), pytest.param(False, id="threads")],
)
def test_workers_run_their_cameras_and_hand_events_on_to_ingest(
    tmp_path: Path, model: Path, clip: Path, processes: bool
) -> None:
    """Worker processes are spawned (each imports Vigil afresh: seconds), hence slow; threads
    run the very same worker code."""
    cameras = [spec(f"cam-{k}", str(clip), model) for k in range(3)]
    events: dict[str, list[VideoObservation]] = {}
    with EventLog(tmp_path / "events.ndjson") as log:

        def collect(batch: object) -> None:
            assert isinstance(batch, tuple)
            log.write(batch)
            for event in batch:
                assert event.camera is not None
                events.setdefault(str(event.camera.uid), []).append(event)

        runtime = VideoRuntime(
            cameras, ESTATE, cameras_per_worker=2, processes=processes, on_events=collect
        )
        assert len(runtime.groups) == 2  # two workers: cam-0 and cam-1, then cam-2
        health = runtime.run(seconds=120)
    assert runtime.errors == []
    assert not runtime.running
    for uid in ("cam-0", "cam-1", "cam-2"):
        final = health[uid]
        assert final.state is CameraState.ENDED
        assert (final.frames_in, final.analysed, final.skipped) == (40, 20, 20)
        assert final.detector_runs == final.full_frames == 20
        assert final.cpu_seconds > 0
        assert final.worker == (0 if uid != "cam-2" else 1)
        assert activities(events[uid]) == [Activity.DWELL, Activity.ZONE_ENTRY, Activity.ZONE_EXIT]
    # the hand-off: ingest's `ocsf_json` parser reads the file as it is
    lines = (tmp_path / "events.ndjson").read_text().splitlines()
    parsed = batches_from_json_lines(lines)
    assert parsed.rejected == []
    assert sum(len(batch.events()) for batch in parsed.batches) == 9
    from vigil.ingest.parsers import parsers
    from vigil.ingest.types import RawRecords

    result = parsers.get("ocsf_json")().parse(RawRecords.of("video", lines))
    assert result.rejected == []
    assert sum(batch.table.num_rows for batch in result.batches) == 9


def test_stop_is_graceful_open_visits_are_closed_and_reported(model: Path, clip: Path) -> None:
    seen: list[CameraHealth] = []
    events: list[VideoObservation] = []
    runtime = VideoRuntime(
        [spec("loop", str(clip), model, loop=True)],
        ESTATE,
        processes=False,
        health_seconds=0.05,
        on_events=events.extend,
        on_health=seen.append,
    )
    runtime.start()
    deadline = time.monotonic() + 60
    while not any(h.analysed >= 6 for h in seen) and time.monotonic() < deadline:
        runtime.poll(0.05)
    health = runtime.stop()
    assert health["loop"].state is CameraState.STOPPED
    assert health["loop"].analysed >= 6
    assert not runtime.running
    assert Activity.ZONE_ENTRY in activities(events)
    assert Activity.ZONE_EXIT in activities(events)  # closed by the stop, not by the stream
    assert seen[0].state is CameraState.STARTING


def test_a_camera_that_cannot_run_fails_alone(tmp_path: Path, model: Path, clip: Path) -> None:
    cameras = [
        spec("missing", str(tmp_path / "nowhere.avi"), model),
        spec("elsewhere", str(clip), model).model_copy(update={"store_uid": "999"}),
        spec("fine", str(clip), model),
    ]
    health = VideoRuntime(cameras, ESTATE, processes=False, cameras_per_worker=3).run(60)
    assert health["missing"].state is CameraState.FAILED
    assert "no such video file" in (health["missing"].last_error or "")
    assert health["elsewhere"].state is CameraState.FAILED
    assert "999" in (health["elsewhere"].last_error or "")
    assert health["fine"].state is CameraState.ENDED
    assert health["fine"].analysed == 20


def test_a_live_feed_drops_the_older_frame_when_analysis_falls_behind() -> None:
    frames = [np.full((24, 32, 3), k, np.uint8) for k in range(10)]
    source = VideoSource(
        SourceConfig(uri="rtsp://cam/1", fps=None, retries=0),
        opener=Opener([FakeCapture(frames, [0.0] * 10)]),
        clock=FakeClock(),
    )
    feed = FrameFeed(source, latest_only=True, wake=threading.Event())
    feed.start()
    feed.thread.join(10)  # nobody takes frames meanwhile: analysis is "behind"
    assert feed.finished
    assert feed.error is not None
    assert "gave up" in feed.error
    taken = [feed.take(), feed.take(), feed.take()]
    assert [int(frame.image[0, 0, 0]) for frame in taken if frame] == [8, 9]  # the newest two
    assert feed.drops == 8
    assert feed.done


@pytest.mark.parametrize(
    ("cameras", "message"),
    [([], "no cameras"), (["a", "a"], "more than once: a")],
)
def test_bad_runtime_settings(model: Path, clip: Path, cameras: list[str], message: str) -> None:
    specs = [spec(uid, str(clip), model) for uid in cameras]
    with pytest.raises(RuntimeConfigError, match=message):
        VideoRuntime(specs, ESTATE)


# --- vigil video run ------------------------------------------------------------------------


def zones_file(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {"version": 1, "cameras": [camera(zones=[FLOOR]).model_dump(mode="json")]}
        ),  # JSON is YAML
        encoding="utf-8",
    )
    return path


def test_cli_run_writes_events_an_annotated_blurred_video_and_a_heat_map(
    tmp_path: Path, model: Path, clip: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--source", str(clip),
            "--zones", str(zones_file(tmp_path / "zones.yaml")),
            "--store", "031",
            "--model", str(model),
            "--start", "2026-03-04T20:00:00",
            "--out", str(out),
            "--no-motion",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "frames analysed" in result.output
    assert "Zone Entry" in result.output
    lines = (out / "events.ndjson").read_text().splitlines()
    assert [json.loads(line)["activity_name"] for line in lines] == [
        "Zone Entry",
        "Dwell",
        "Zone Exit",
    ]
    heat = HeatMap.from_json((out / "s031-cam-01-heatmap.json").read_text())
    assert heat.samples == 19  # the person, from its second analysed frame (confirmed) on
    assert cv2.imread(str(out / "s031-cam-01-heatmap.png")).shape == (240, 320, 3)
    video = cv2.VideoCapture(str(out / "s031-cam-01.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 20
    ok, last = video.read()
    for _ in range(19):
        ok, frame = video.read()
        last = frame if ok else last
    source = cv2.VideoCapture(str(clip))
    for _ in range(39):
        source.read()
    _, original = source.read()
    head = (slice(40, 70), slice(60, 180))  # inside the constant person's head region
    detail = cv2.Laplacian(original[head], cv2.CV_64F).var()
    assert detail > 100  # the textured floor behind the head
    assert cv2.Laplacian(last[head], cv2.CV_64F).var() < detail / 10


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--zones": "{tmp}/absent.yaml"}, "cannot read"),
        ({"--camera": "cam-9"}, "no camera 'cam-9'"),
        ({"--store": "999"}, "999"),
        ({"--source": "{tmp}/nowhere.avi"}, "no such video file"),
    ],
)
def test_cli_run_says_what_is_wrong(
    tmp_path: Path, model: Path, clip: Path, change: dict[str, str], message: str
) -> None:
    options = {
        "--source": str(clip),
        "--zones": str(zones_file(tmp_path / "zones.yaml")),
        "--model": str(model),
        "--out": str(tmp_path / "out"),
    }
    options.update({flag: value.format(tmp=tmp_path) for flag, value in change.items()})
    result = CliRunner().invoke(app, ["run", *[part for pair in options.items() for part in pair]])
    assert result.exit_code == 1
    assert message in result.output


def test_cli_run_without_a_model_installed_says_how_to_get_one(
    tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_MODELS_DIR", str(tmp_path / "models"))
    result = CliRunner().invoke(
        app,
        ["run", "--source", str(clip), "--zones", str(zones_file(tmp_path / "z.yaml"))],
    )
    assert result.exit_code == 1
    assert "vigil models install nanodet" in result.output


def test_a_crashing_worker_is_reported_and_the_runtime_still_ends(
    model: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken:
        def detect(self, frame: np.ndarray) -> None:
            raise RuntimeError("the accelerator is on fire")

    monkeypatch.setattr("vigil.video.worker.build_detector", lambda config: Broken())
    runtime = VideoRuntime([spec("cam", str(clip), model)], ESTATE, processes=False)
    health = runtime.run(60)
    assert runtime.errors == ["worker 0: RuntimeError: the accelerator is on fire"]
    assert not runtime.running
    assert health["cam"].state is CameraState.STARTING  # its last word before the crash
