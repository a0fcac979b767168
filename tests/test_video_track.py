"""Tracking: the store's additions to ByteTrack (minimum length, smoothing, frames the motion gate
skipped, seconds at the camera's rate) and the MOT evaluation on cases with known answers."""

from __future__ import annotations

from pathlib import Path

import motmetrics
import numpy as np
import pytest
import supervision as sv

from vigil.video.errors import GroundTruthError, VideoError
from vigil.video.mot import MotBoxes, evaluate, run_tracker
from vigil.video.track import BoxSmoother, Tracker, TrackerConfig

WALKER = (100.0, 100.0, 150.0, 250.0)
SHOPPER = (400.0, 120.0, 460.0, 280.0)


def people(*boxes: tuple[float, float, float, float], score: float = 0.9) -> sv.Detections:
    count = len(boxes)
    return sv.Detections(
        xyxy=np.array(boxes, dtype=np.float32).reshape(-1, 4),
        confidence=np.full(count, score, dtype=np.float32),
        class_id=np.zeros(count, dtype=int),
        data={"class_name": np.full(count, "person")},
    )


def moved(box: tuple[float, float, float, float], dx: float) -> tuple[float, float, float, float]:
    return (box[0] + dx, box[1], box[2] + dx, box[3])


# --- Tracker --------------------------------------------------------------------------------


@pytest.mark.parametrize("minimum", [2, 3])
def test_a_track_is_reported_after_minimum_frames_and_a_one_frame_ghost_never(
    minimum: int,
) -> None:
    tracker = Tracker(TrackerConfig(minimum_frames=minimum, smoothing_frames=1), fps=10)
    ghost = (600.0, 50.0, 640.0, 150.0)
    reported = [tracker.update(people(WALKER, ghost))]
    reported += [tracker.update(people(moved(WALKER, 2 * n))) for n in range(1, 6)]
    counts = [len(frame) for frame in reported]
    assert counts == [0] * (minimum - 1) + [1] * (7 - minimum)
    assert {int(frame.tracker_id[0]) for frame in reported if len(frame)} == {0}
    assert all(frame.data["class_name"].tolist() == ["person"] for frame in reported if len(frame))


def test_a_skipped_frame_returns_the_last_people_and_ages_nothing() -> None:
    """A customer stands still at a shelf: the motion gate skips the detector for far longer
    than the lost-track buffer (1 s = 10 frames); the same id comes back when it runs again."""
    tracker = Tracker(TrackerConfig(smoothing_frames=1), fps=10)
    for _ in range(3):
        before = tracker.update(people(WALKER, SHOPPER))
    held = [tracker.update(sv.Detections.empty(), detected=False) for _ in range(50)]
    after = tracker.update(people(WALKER, SHOPPER))
    assert all(frame.tracker_id.tolist() == before.tracker_id.tolist() for frame in held)
    np.testing.assert_allclose(held[-1].xyxy, before.xyxy)
    assert sorted(after.tracker_id.tolist()) == sorted(before.tracker_id.tolist())


def test_frames_without_the_people_do_age_tracks_past_the_buffer() -> None:
    """The contrast: the same pause seen as detected-but-empty frames loses the ids."""
    tracker = Tracker(TrackerConfig(smoothing_frames=1), fps=10)
    for _ in range(3):
        before = tracker.update(people(WALKER))
    for _ in range(tracker.max_lost_frames + 2):
        assert len(tracker.update(people())) == 0
    tracker.update(people(WALKER))
    after = tracker.update(people(WALKER))
    assert after.tracker_id.tolist() != before.tracker_id.tolist()


def test_a_short_gap_keeps_the_id_within_the_buffer() -> None:
    tracker = Tracker(TrackerConfig(lost_seconds=2.0, smoothing_frames=1), fps=10)
    for _ in range(3):
        before = tracker.update(people(WALKER))
    for _ in range(15):  # 1.5 s at 10 fps: inside 2 s
        tracker.update(people())
    assert tracker.update(people(WALKER)).tracker_id.tolist() == before.tracker_id.tolist()


@pytest.mark.parametrize(
    ("fps", "seconds", "frames"), [(10, 2.0, 20), (30, 2.0, 60), (25, 1.0, 25)]
)
def test_the_lost_buffer_is_seconds_at_the_camera_s_rate(
    fps: float, seconds: float, frames: int
) -> None:
    assert Tracker(TrackerConfig(lost_seconds=seconds), fps=fps).max_lost_frames == frames


def test_smoothing_averages_a_jittering_box() -> None:
    jitter = [moved(WALKER, 4.0 if n % 2 else -4.0) for n in range(8)]
    raw = Tracker(TrackerConfig(smoothing_frames=1), fps=10)
    smooth = Tracker(TrackerConfig(smoothing_frames=4), fps=10)
    raw_x = [raw.update(people(box)).xyxy[:, 0] for box in jitter]
    smooth_x = [smooth.update(people(box)).xyxy[:, 0] for box in jitter]
    assert np.ptp(np.concatenate(raw_x[4:])) == pytest.approx(8.0, abs=0.5)
    assert np.ptp(np.concatenate(smooth_x[4:])) < 1.0


def test_the_box_smoother_gives_what_supervision_s_smoother_gives() -> None:
    """Tracks that come, go for a while, come back and vanish: same order, boxes and scores."""
    rng = np.random.default_rng(8)
    ours, theirs = BoxSmoother(3), sv.DetectionsSmoother(length=3)
    for frame in range(40):
        ids = np.array([t for t in range(6) if rng.random() < 0.7 or frame % 9 == t], dtype=int)
        rng.shuffle(ids)
        tracked = people(*[tuple(rng.uniform(0, 500, 4)) for _ in ids])
        tracked.confidence = rng.uniform(0.1, 1.0, len(ids)).astype(np.float32)
        tracked.tracker_id = ids
        mine, reference = ours.update(tracked), theirs.update_with_detections(tracked)
        assert mine.tracker_id is not None
        assert reference.tracker_id is not None
        assert mine.tracker_id.tolist() == reference.tracker_id.tolist()
        np.testing.assert_allclose(mine.xyxy, reference.xyxy, rtol=1e-5)
        np.testing.assert_allclose(mine.confidence, reference.confidence, rtol=1e-5)
        assert mine.data["class_name"].tolist() == reference.data["class_name"].tolist()


def test_the_output_is_a_copy_and_empty_frames_have_every_field() -> None:
    tracker = Tracker(TrackerConfig(smoothing_frames=1), fps=10)
    empty = tracker.update(people())
    assert empty.tracker_id is not None
    assert len(empty.tracker_id) == 0
    assert "class_name" in empty.data
    for _ in range(2):
        shown = tracker.update(people(WALKER))
    shown.xyxy[:] = 0
    held = tracker.update(sv.Detections.empty(), detected=False)
    np.testing.assert_allclose(held.xyxy, [WALKER])


def test_reset_forgets_every_track() -> None:
    tracker = Tracker(TrackerConfig(smoothing_frames=1), fps=10)
    for _ in range(2):
        tracker.update(people(WALKER))
    tracker.reset()
    assert len(tracker.update(sv.Detections.empty(), detected=False)) == 0
    assert len(tracker.update(people(WALKER))) == 0  # a new track, not yet confirmed


@pytest.mark.parametrize("fps", [0.0, -5.0, float("nan")])
def test_a_frame_rate_that_is_not_positive_is_refused(fps: float) -> None:
    with pytest.raises(VideoError, match="frame rate"):
        Tracker(fps=fps)


# --- MOT evaluation ---------------------------------------------------------------------------


def truth_rows(*rows: tuple[int, int, float, float, float, float, int, int]) -> MotBoxes:
    """MOT17 ground truth from (frame, id, left, top, width, height, flag, class) rows."""
    array = np.array([[*row, 1.0] for row in rows], dtype=np.float64)
    return MotBoxes(
        array[:, 0].astype(np.int64),
        array[:, 1].astype(np.int64),
        np.concatenate([array[:, 2:4], array[:, 2:4] + array[:, 4:6]], axis=1),
        array[:, 6],
        array[:, 7].astype(np.int64),
        array[:, 8],
    )


def two_walkers(frames: int = 4) -> MotBoxes:
    rows = []
    for frame in range(1, frames + 1):
        rows.append((frame, 1, 10.0 * frame, 0.0, 50.0, 100.0, 1, 1))
        rows.append((frame, 2, 300.0, 10.0 * frame, 50.0, 100.0, 1, 1))
    return truth_rows(*rows)


def hypotheses(truth: MotBoxes, ids: list[int]) -> MotBoxes:
    return MotBoxes(
        truth.frame,
        np.array(ids, dtype=np.int64),
        truth.xyxy,
        np.ones(len(ids)),
        np.full(len(ids), -1),
        np.ones(len(ids)),
    )


def test_perfect_tracks_score_one() -> None:
    truth = two_walkers()
    scores = evaluate(truth, hypotheses(truth, [7, 8] * 4))
    assert (scores.mota, scores.idf1, scores.motp, scores.id_switches) == (1.0, 1.0, 1.0, 0)


def test_one_identity_swap_costs_two_switches_and_half_the_idf1() -> None:
    """Frames 3-4 swap the two ids: 2 switches over 8 objects, MOTA 1 - 2/8; the best id
    mapping keeps 2 frames of each walker, IDF1 = 2 x 4 / (8 + 8)."""
    truth = two_walkers()
    scores = evaluate(truth, hypotheses(truth, [7, 8, 7, 8, 8, 7, 8, 7]))
    assert scores.id_switches == 2
    assert scores.mota == pytest.approx(0.75)
    assert scores.idf1 == pytest.approx(0.5)
    assert (scores.false_positives, scores.misses) == (0, 0)


def test_mot17_conventions_ignore_distractors_and_unflagged_people() -> None:
    """Frame 1: a pedestrian (found), a static person (class 7, found: dropped, no false
    positive), an unflagged pedestrian (flag 0, not found: no miss), and a box on nothing."""
    truth = truth_rows(
        (1, 1, 0, 0, 50, 100, 1, 1),
        (1, 2, 200, 0, 50, 100, 1, 7),
        (1, 3, 400, 0, 50, 100, 0, 1),
    )
    found = MotBoxes(
        np.array([1, 1, 1]),
        np.array([5, 6, 9]),
        np.array([[0, 0, 50, 100], [202, 0, 252, 100], [600, 0, 650, 100]], dtype=np.float64),
        np.ones(3),
        np.full(3, -1),
        np.ones(3),
    )
    scores = evaluate(truth, found)
    assert (scores.false_positives, scores.misses) == (1, 0)
    assert scores.mota == pytest.approx(0.0)  # 1 object, 1 false positive


@pytest.mark.parametrize(
    ("sequence", "mota", "idf1", "switches", "false_positives", "misses"),
    [
        ("TUD-Campus", 0.526462, 0.557659, 7, 13, 150),
        ("TUD-Stadtmitte", 0.564014, 0.644619, 7, 45, 452),
    ],
)
def test_the_shipped_mot15_results_score_as_motmetrics_own_tests_expect(
    sequence: str, mota: float, idf1: float, switches: int, false_positives: int, misses: int
) -> None:
    """The figures motmetrics' test_motchallenge_files asserts for the data its wheel ships."""
    data = Path(motmetrics.__file__).parent / "data" / sequence
    scores = evaluate(MotBoxes.read(data / "gt.txt"), MotBoxes.read(data / "test.txt"))
    assert scores.mota == pytest.approx(mota, abs=1e-5)
    assert scores.idf1 == pytest.approx(idf1, abs=1e-5)
    assert (scores.id_switches, scores.false_positives, scores.misses) == (
        switches,
        false_positives,
        misses,
    )


def test_run_tracker_turns_tracked_frames_into_mot_rows() -> None:
    frames = [people(moved(WALKER, 2 * n), moved(SHOPPER, -n)) for n in range(6)]
    rows = run_tracker(frames, Tracker(TrackerConfig(smoothing_frames=1), fps=10))
    assert sorted(set(rows.frame.tolist())) == [2, 3, 4, 5, 6]  # confirmed from frame 2
    assert sorted(set(rows.track_id.tolist())) == [0, 1]
    assert len(rows.frame) == 10


@pytest.mark.parametrize(
    ("text", "message"),
    [("1,2,3,4\n", "columns"), ("1,2,x,4,5,6\n", "could not convert")],
)
def test_unreadable_mot_files_are_a_ground_truth_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "gt.txt"
    path.write_text(text)
    with pytest.raises(GroundTruthError, match=message):
        MotBoxes.read(path)
    with pytest.raises(GroundTruthError):
        MotBoxes.read(tmp_path / "absent.txt")
