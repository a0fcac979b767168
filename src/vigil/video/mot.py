"""Tracking accuracy against MOTChallenge ground truth: MOTA, IDF1, MOTP, ID switches.

    sequence = MotSequence.open(Path("MOT17-04-FRCNN"))
    tracks = run_tracker(detections_per_frame, Tracker(fps=sequence.frame_rate))
    scores = evaluate(sequence.ground_truth, tracks)

The counting is `motmetrics`'; what is counted follows the MOTChallenge
conventions as TrackEval applies them:

- only pedestrians (class 1) with the consider flag set are scored (MOT15 files
  have no classes: every flagged row is);
- before scoring, each frame's hypotheses are matched (IoU >= 0.5, Hungarian)
  to all ground-truth boxes, and those matched to a distractor (person on a
  vehicle, static person, distractor, reflection) are dropped, neither a hit nor
  a false positive;
- a hypothesis and a ground-truth box may pair when their IoU is at least 0.5;
  MOTP is reported as MOTChallenge does, the mean IoU of the pairs.
"""

from __future__ import annotations

import configparser
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import supervision as sv
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]
from supervision.detection.utils.iou_and_nms import box_iou_batch

from vigil.video.errors import GroundTruthError

PEDESTRIAN = 1
DISTRACTORS = (2, 7, 8, 12)
"""MOT17 classes whose matched hypotheses are dropped: on vehicle, static, distractor, reflection."""
MATCH_IOU = 0.5
METRICS = ["mota", "motp", "idf1", "num_switches", "num_false_positives", "num_misses"]


@dataclass(frozen=True)
class MotBoxes:
    """Rows of a MOTChallenge file (ground truth or tracker output), as columns."""

    frame: npt.NDArray[np.int64]
    track_id: npt.NDArray[np.int64]
    xyxy: npt.NDArray[np.float64]
    flag: npt.NDArray[np.float64]
    """Ground truth: 1 scored, 0 ignored. Tracker output: the score."""
    class_id: npt.NDArray[np.int64]
    """Ground truth class (1 pedestrian, 7 static person, ...); -1 where the file has none."""
    visibility: npt.NDArray[np.float64]
    """Visible fraction of the box (MOT16/17 ground truth); 1 where the file has none."""

    @classmethod
    def read(cls, path: Path) -> MotBoxes:
        """`frame, id, left, top, width, height[, flag, ...]` per line, as MOTChallenge writes.

        MOT16/17 ground truth has 9 columns (flag, class, visibility); MOT15 files and
        tracker results have 10, the last three world coordinates or -1: no class there.
        """
        try:
            rows = np.loadtxt(path, delimiter=",", ndmin=2, dtype=np.float64)
        except (OSError, ValueError) as error:
            raise GroundTruthError(f"{path}: {error}") from error
        if not rows.size:
            return cls.empty()
        if rows.shape[1] < 6:
            raise GroundTruthError(f"{path}: {rows.shape[1]} columns, MOT files have 6 or more")
        classes = rows.shape[1] == 9
        return cls(
            rows[:, 0].astype(np.int64),
            rows[:, 1].astype(np.int64),
            np.concatenate([rows[:, 2:4], rows[:, 2:4] + rows[:, 4:6]], axis=1),
            rows[:, 6] if rows.shape[1] > 6 else np.ones(len(rows)),
            rows[:, 7].astype(np.int64) if classes else np.full(len(rows), -1, dtype=np.int64),
            rows[:, 8] if classes else np.ones(len(rows)),
        )

    @classmethod
    def from_frames(cls, frames: Iterable[sv.Detections], first: int = 1) -> MotBoxes:
        """A tracker's output, one `sv.Detections` (with `tracker_id`) per frame from `first`.

        Rows of `tracker_id` -1 (tracks not yet confirmed) are not output.
        """
        numbers, ids, boxes, scores = [], [], [], []
        for number, detections in enumerate(frames, start=first):
            if detections.tracker_id is None:
                raise GroundTruthError(f"frame {number}: detections without tracker_id")
            keep = detections.tracker_id >= 0
            numbers.append(np.full(int(keep.sum()), number, dtype=np.int64))
            ids.append(detections.tracker_id[keep].astype(np.int64))
            boxes.append(detections.xyxy[keep].astype(np.float64).reshape(-1, 4))
            confidence = detections.confidence
            scores.append(np.ones(int(keep.sum())) if confidence is None else confidence[keep])
        if not numbers:
            return cls.empty()
        count = sum(len(part) for part in numbers)
        return cls(
            np.concatenate(numbers),
            np.concatenate(ids),
            np.concatenate(boxes),
            np.concatenate(scores).astype(np.float64),
            np.full(count, -1, dtype=np.int64),
            np.ones(count),
        )

    @classmethod
    def empty(cls) -> MotBoxes:
        nothing = np.empty(0, dtype=np.int64)
        return cls(nothing, nothing, np.empty((0, 4)), np.empty(0), nothing, np.empty(0))

    def select(self, rows: npt.NDArray[np.bool_]) -> MotBoxes:
        """The rows where `rows` is true."""
        return MotBoxes(
            self.frame[rows],
            self.track_id[rows],
            self.xyxy[rows],
            self.flag[rows],
            self.class_id[rows],
            self.visibility[rows],
        )

    def at(self, frame: int) -> MotBoxes:
        """The rows of one frame."""
        return self.select(self.frame == frame)

    def detections(self, frame: int) -> sv.Detections:
        """One frame's boxes as detections (score from the flag column, ids dropped)."""
        rows = self.at(frame)
        return sv.Detections(
            xyxy=rows.xyxy.astype(np.float32),
            confidence=np.where(rows.flag > 0, rows.flag, 1.0).astype(np.float32),
            class_id=np.zeros(len(rows.frame), dtype=int),
            data={"class_name": np.full(len(rows.frame), "person")},
        )


@dataclass(frozen=True)
class MotSequence:
    """A MOTChallenge sequence folder: `seqinfo.ini`, `img1/*.jpg`, `gt/gt.txt`."""

    name: str
    frame_rate: float
    images: list[Path]
    """Frame images in order; frame numbers start at 1 (the file names say which)."""
    ground_truth: MotBoxes

    @classmethod
    def open(cls, folder: Path) -> MotSequence:
        info = configparser.ConfigParser()
        if not info.read(folder / "seqinfo.ini"):
            raise GroundTruthError(f"{folder}: no seqinfo.ini")
        try:
            section = info["Sequence"]
            frame_rate = float(section["frameRate"])
            images = sorted(
                (folder / section.get("imDir", "img1")).glob("*" + section.get("imExt", ".jpg"))
            )
        except (KeyError, ValueError) as error:
            raise GroundTruthError(f"{folder / 'seqinfo.ini'}: {error}") from error
        if not images:
            raise GroundTruthError(f"{folder}: no frame images")
        return cls(
            section.get("name", folder.name),
            frame_rate,
            images,
            MotBoxes.read(folder / "gt" / "gt.txt"),
        )

    def frame_number(self, image: Path) -> int:
        """MOTChallenge names frames by number: `000042.jpg` is frame 42."""
        return int(image.stem)


@dataclass(frozen=True)
class MotScores:
    """CLEAR MOT and identity scores of one tracker on one sequence."""

    frames: int
    mota: float
    idf1: float
    motp: float
    """Mean IoU of matched pairs (MOTChallenge's MOTP; higher is better)."""
    id_switches: int
    false_positives: int
    misses: int


class FrameTracker(Protocol):
    """Anything that tracks frame by frame: `vigil.video.track.Tracker`, `trackers`' classes."""

    def update(self, detections: sv.Detections) -> sv.Detections: ...


def run_tracker(frames: Iterable[sv.Detections], tracker: FrameTracker, first: int = 1) -> MotBoxes:
    """Feed a sequence's detections to a tracker, frame by frame; its output as MOT rows."""
    return MotBoxes.from_frames((tracker.update(detections) for detections in frames), first)


def scored(truth: MotBoxes) -> npt.NDArray[np.bool_]:
    """The ground-truth rows that count: flagged pedestrians (every flagged row in MOT15)."""
    pedestrian = (truth.class_id == PEDESTRIAN) | (truth.class_id < 0)
    return np.asarray((truth.flag != 0) & pedestrian, dtype=np.bool_)


def drop_distractor_matches(truth: MotBoxes, hypotheses: MotBoxes) -> MotBoxes:
    """One frame's hypotheses less those whose best match (IoU >= 0.5) is a distractor."""
    if not len(truth.frame) or not len(hypotheses.frame):
        return hypotheses
    iou = box_iou_batch(truth.xyxy, hypotheses.xyxy)
    iou[iou < MATCH_IOU] = 0.0
    rows, columns = linear_sum_assignment(-iou)
    matched = iou[rows, columns] > 0
    distractor = np.isin(truth.class_id[rows[matched]], DISTRACTORS)
    keep = np.ones(len(hypotheses.frame), dtype=bool)
    keep[columns[matched][distractor]] = False
    return hypotheses.select(keep)


def evaluate(
    truth: MotBoxes, hypotheses: MotBoxes, frames: Iterable[int] | None = None
) -> MotScores:
    """Score tracker output against ground truth over `frames` (default: every frame in either)."""
    known = set(truth.frame.tolist()) | set(hypotheses.frame.tolist())
    numbers = sorted(known if frames is None else set(frames))
    accumulator = mm.MOTAccumulator(auto_id=False)
    for number in numbers:
        everyone = truth.at(number)
        objects = everyone.select(scored(everyone))
        hyps = drop_distractor_matches(everyone, hypotheses.at(number))
        distance = 1.0 - box_iou_batch(objects.xyxy, hyps.xyxy)
        distance[distance > 1.0 - MATCH_IOU] = np.nan
        accumulator.update(
            objects.track_id.tolist(), hyps.track_id.tolist(), distance, frameid=number
        )
    summary = mm.metrics.create().compute(accumulator, metrics=METRICS, name="all")
    row = summary.loc["all"]
    return MotScores(
        frames=len(numbers),
        mota=float(row["mota"]),
        idf1=float(row["idf1"]),
        motp=1.0 - float(row["motp"]),
        id_switches=int(row["num_switches"]),
        false_positives=int(row["num_false_positives"]),
        misses=int(row["num_misses"]),
    )
