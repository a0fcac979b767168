"""`vigil video run`: analyse one camera or file with its zones; events, annotated video, heat map.

    vigil video run --source /usr/share/doc/opencv-doc/examples/data/vtest.avi \\
        --zones src/vigil/video/sample_zones.yaml --out video-out

Writes `events.ndjson` (OCSF Video Observation events, one a line, what ingest's
`ocsf_json` parser reads), `<camera>.mp4` (zones, lines, people and track ids, heads
blurred), `<camera>-heatmap.png` and `<camera>-heatmap.json`, and blurred snapshots of
notable events under `snapshots/`; then prints a summary.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import estate_of, fail, out
from vigil.estate import Estate, UnknownStoreError, load_sample_estate
from vigil.video.camera import CameraHealth, CameraSpec, CameraState, OutputsConfig
from vigil.video.detectors import NanoDetConfig
from vigil.video.errors import ModelError, VideoError, ZoneConfigError
from vigil.video.motion import MotionConfig
from vigil.video.pipeline import PipelineConfig
from vigil.video.runtime import VideoRuntime
from vigil.video.sink import EventLog
from vigil.video.snapshots import SnapshotConfig
from vigil.video.sources import SourceConfig
from vigil.video.zones import CameraZones, load_zones

app = typer.Typer(help="Store video analytics: cameras and files to events.", no_args_is_help=True)


@app.callback()
def video() -> None:
    """Store video analytics: cameras and files to events."""


@app.command("run")
def run(
    source: Annotated[
        str, typer.Option(help="Video file, image folder, or rtsp:// / http:// URL.")
    ],
    zones: Annotated[Path, typer.Option(help="Zones YAML (see `sample_zones.yaml`).")],
    camera: Annotated[
        str | None, typer.Option(help="Camera uid in the zones file (default: its only one).")
    ] = None,
    store: Annotated[
        str | None, typer.Option(help="Store uid (default: the store holding the camera).")
    ] = None,
    estate_file: Annotated[
        Path | None, typer.Option("--estate", help="Estate YAML (default: the sample estate).")
    ] = None,
    fps: Annotated[float, typer.Option(min=0.1, help="Frames analysed a second.")] = 5.0,
    output: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("video-out"),
    start: Annotated[
        datetime | None,
        typer.Option(help="Time of a file's first frame, UTC unless an offset is given."),
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(min=0.1, help="Analyse only this much of the stream.")
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="NanoDet ONNX file (default: the model cache).")
    ] = None,
    motion: Annotated[bool, typer.Option(help="Gate the detector on motion.")] = True,
    retention_days: Annotated[
        float, typer.Option(min=0.01, help="Days snapshots are kept.")
    ] = 30.0,
) -> None:
    """Analyse a camera or a file: events, annotated video, heat map and a summary."""
    estate = estate_of(estate_file) if estate_file is not None else load_sample_estate()
    view = _camera(zones, camera)
    store_uid = store or _store_of(estate, view.uid)
    try:
        estate.store(store_uid)
        spec = CameraSpec(
            store_uid=store_uid,
            source=SourceConfig(
                uri=source,
                fps=fps,
                start=None if start is None else _aware(start),
                duration_seconds=seconds,
            ),
            zones=view,
            model=NanoDetConfig() if model is None else NanoDetConfig(model=model),
            pipeline=PipelineConfig(motion=MotionConfig(enabled=motion)),
            snapshots=SnapshotConfig(folder=output / "snapshots", retention_days=retention_days),
            outputs=OutputsConfig(folder=output),
        )
    except (ModelError, UnknownStoreError) as error:
        raise fail(str(error)) from error
    began = time.monotonic()
    try:
        with EventLog(output / "events.ndjson") as log:
            runtime = VideoRuntime([spec], estate, processes=False, on_events=log.write)
            try:
                health = runtime.run()
            except KeyboardInterrupt:
                health = runtime.stop()
    except VideoError as error:
        raise fail(str(error)) from error
    final = health.get(view.uid)
    if final is None or final.state is CameraState.FAILED or runtime.errors:
        problem = "; ".join(runtime.errors) or (final.last_error if final else None)
        raise fail(f"camera {view.uid} failed: {problem or 'no frames were analysed'}")
    _summary(final, log, time.monotonic() - began, output)


def _camera(path: Path, uid: str | None) -> CameraZones:
    try:
        zones = load_zones(path)
        if uid is not None:
            return zones.camera(uid)
    except ZoneConfigError as error:  # a ZoneLintError lists every problem
        raise fail(str(error)) from error
    if len(zones.cameras) > 1:
        known = ", ".join(camera.uid for camera in zones.cameras)
        raise fail(f"{path} has several cameras ({known}): name one with --camera")
    return zones.cameras[0]


def _store_of(estate: Estate, camera: str) -> str:
    """The store whose assets include the camera, else the estate's first store."""
    for store, asset in estate.assets:
        if asset.uid == camera:
            return store.uid
    return estate.stores[0].uid


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _summary(health: CameraHealth, log: EventLog, wall: float, output: Path) -> None:
    table = Table(
        title=f"vigil video run: {health.camera}", title_justify="left", show_header=False
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    analysed = max(health.analysed, 1)
    table.add_row("frames read", f"{health.frames_in:,}")
    table.add_row("frames analysed", f"{health.analysed:,}")
    table.add_row(
        "detector runs",
        f"{health.detector_runs:,} ({100 * health.detector_runs / analysed:.0f} % of analysed: "
        f"{health.full_frames} full, {health.region_frames} regions; {health.idle_frames} idle)",
    )
    table.add_row("analysed fps", f"{health.analysed / max(wall, 1e-9):.1f}")
    table.add_row("wall time", f"{wall:.1f} s")
    if health.errors:
        table.add_row("frame errors", f"{health.errors} (last: {health.last_error})")
    for name, count in sorted(log.counts.items()):
        table.add_row(f"events: {name}", f"{count:,}")
    for line in health.footfall:
        table.add_row(f"line {line.line}", f"{line.in_count} in, {line.out_count} out")
    out.print(table)
    out.print(
        f"wrote {output}/: events.ndjson, {health.camera}.mp4, {health.camera}-heatmap.png/.json"
    )
