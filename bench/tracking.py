"""Tracking accuracy: Vigil's tracker against plain ByteTrack, MOTA / IDF1 / MOTP / ID switches.

Every tracker gets the same detections, frame by frame, and `vigil.video.mot`
scores its output with motmetrics under the MOTChallenge conventions:

- MOT17 (mini): the frames of each sequence under `$VIGIL_MOT17` (default
  `/work/shared/video/mot17-mini`: the first 4 frames of MOT17-02 and 8 of
  MOT17-04), detected by NanoDet (`$VIGIL_NANODET`, default
  `/work/shared/models/nanodet.onnx`) on square tiles at confidence 0.1. So
  few frames measure the detector and the warm-up more than identity keeping.
- TUD-Campus and TUD-Stadtmitte (MOT15), from the motmetrics wheel, which ships
  their ground truth and one tracker's output (`test.txt`) but no images: the
  output's boxes, ids dropped, are the detections; a comparison independent of
  our detector, over 71 and 179 frames. The `shipped` row scores `test.txt` as
  it is (motmetrics' own tests expect MOTA 52.6 % and 56.4 %).

Trackers: `vigil` is `vigil.video.track.Tracker` with its defaults (reports a
track from its second frame, boxes smoothed over 3 frames); `bytetrack` is the
`trackers` package's ByteTrackTracker with the same thresholds and motion model
but none of Vigil's additions; `bytetrack-defaults` is it as shipped
(thresholds 0.7 / 0.6, set for stronger detectors than NanoDet).

The figures are MOTA and IDF1 in %, Vigil's tracker against `bytetrack`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from bench.types import Figure

if TYPE_CHECKING:
    import supervision as sv

    from vigil.video.mot import MotBoxes, MotScores

MOT17 = Path(os.environ.get("VIGIL_MOT17", "/work/shared/video/mot17-mini"))
NANODET = Path(os.environ.get("VIGIL_NANODET", "/work/shared/models/nanodet.onnx"))
TUD_FPS = 25.0
"""TUD-Campus and TUD-Stadtmitte run at 25 frames a second (their MOT15 seqinfo)."""


@dataclass(frozen=True)
class Clip:
    """One sequence's detections and ground truth, ready for any tracker."""

    name: str
    fps: float
    detections: list[sv.Detections]
    truth: MotBoxes
    shipped: MotBoxes | None = None


def _trackers() -> dict[str, Callable[[float], object]]:
    from trackers import ByteTrackTracker
    from trackers.utils.state_representations import XCYCSRStateEstimator

    from vigil.video.track import Tracker, TrackerConfig

    config = TrackerConfig()
    return {
        "vigil": lambda fps: Tracker(config, fps),
        "bytetrack": lambda fps: ByteTrackTracker(
            lost_track_buffer=round(config.lost_seconds * 30),
            frame_rate=fps,
            track_activation_threshold=config.activation,
            minimum_consecutive_frames=1,
            minimum_iou_threshold=config.minimum_iou,
            high_conf_det_threshold=config.high_confidence,
            state_estimator_class=XCYCSRStateEstimator,
        ),
        "bytetrack-defaults": lambda fps: ByteTrackTracker(frame_rate=fps),
    }


def _mot17_clips(console: Console) -> list[Clip]:
    import cv2

    from vigil.video.detectors import build_detector
    from vigil.video.mot import MotSequence

    folders = sorted(path.parent for path in MOT17.glob("*/seqinfo.ini"))
    if not folders or not NANODET.is_file():
        console.print(f"[yellow]MOT17 skipped: no sequences in {MOT17} or no model {NANODET}[/]")
        return []
    detector = build_detector(
        {"model": str(NANODET), "confidence": 0.1, "square_tiles": True, "threads": 2}
    )
    clips = []
    for folder in folders:
        sequence = MotSequence.open(folder)
        frames = [detector.detect(cv2.imread(str(image))) for image in sequence.images]
        clips.append(Clip(sequence.name, sequence.frame_rate, frames, sequence.ground_truth))
    return clips


def _tud_clips() -> list[Clip]:
    import motmetrics

    from vigil.video.mot import MotBoxes

    data = Path(motmetrics.__file__).parent / "data"
    clips = []
    for name in ("TUD-Campus", "TUD-Stadtmitte"):
        truth = MotBoxes.read(data / name / "gt.txt")
        output = MotBoxes.read(data / name / "test.txt")
        last = int(max(truth.frame.max(), output.frame.max()))
        frames = [output.detections(number) for number in range(1, last + 1)]
        clips.append(Clip(name, TUD_FPS, frames, truth, output))
    return clips


def run(events: int, repeat: int) -> list[Figure]:
    """Score every tracker on every clip; `events` and `repeat` do not apply (deterministic)."""
    from vigil.video.mot import evaluate, run_tracker

    console = Console(width=max(Console().width, 110))
    table = Table(title="tracking accuracy (same detections for every tracker)")
    for column in ("sequence", "frames", "tracker", "MOTA", "IDF1", "MOTP", "IDsw", "FP", "FN"):
        table.add_column(column, justify="left" if column in ("sequence", "tracker") else "right")
    figures = []
    for clip in [*_mot17_clips(console), *_tud_clips()]:
        frames = range(1, len(clip.detections) + 1)
        results = {
            name: evaluate(clip.truth, run_tracker(clip.detections, make(clip.fps)), frames)
            for name, make in _trackers().items()
        }
        if clip.shipped is not None:
            results["shipped"] = evaluate(clip.truth, clip.shipped, frames)
        for name, scores in results.items():
            table.add_row(
                clip.name,
                str(scores.frames),
                name,
                f"{scores.mota:.1%}",
                f"{scores.idf1:.1%}",
                f"{scores.motp:.3f}",
                str(scores.id_switches),
                str(scores.false_positives),
                str(scores.misses),
            )
        figures += _figures(clip.name, results["vigil"], results["bytetrack"])
    console.print(table)
    return figures


def _figures(name: str, ours: MotScores, plain: MotScores) -> list[Figure]:
    """MOTA and IDF1 against plain ByteTrack (no ratio to a zero), ID switches of both."""

    def against(metric: str, value: float, reference: float) -> Figure:
        return Figure(f"{name} {metric}", value * 100, "%", reference * 100 or None, "bytetrack")

    return [
        against("MOTA", ours.mota, plain.mota),
        against("IDF1", ours.idf1, plain.idf1),
        Figure(f"{name} ID switches, vigil", ours.id_switches, "switches"),
        Figure(f"{name} ID switches, bytetrack", plain.id_switches, "switches"),
    ]
