"""The camera pipeline on synthetic scenes (bright blocks for people, a detector that finds them
in whatever it is shown): crops mapped back to the frame, people kept still through idle frames
and outside the crop, events, snapshots and blurred exports; then real footage (vtest.avi)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import supervision as sv

import model_paths
from video_fakes import NOON_UTC, BlockDetector, person_box, scene, walk
from video_helpers import ESTATE, STORE, camera, checked, of, rect
from vigil.video.behaviours import Activity
from vigil.video.motion import GateKind, MotionConfig
from vigil.video.pipeline import PipelineConfig, VideoPipeline
from vigil.video.snapshots import SnapshotConfig, SnapshotStore
from vigil.video.sources import SourceFrame
from vigil.video.zones import CameraZones

STEP = timedelta(milliseconds=200)
GATE = MotionConfig(history_seconds=2.0, padding_px=12, full_frame_seconds=2.0)
LINE = {"id": "door", "start": [160, 60], "end": [160, 230], "in_direction": "right"}
AISLE = {
    "id": "aisle",
    "kind": "area",
    "polygon": rect(200, 60, 310, 230),
    "report_entry_exit": True,
}


def pipeline(cam: CameraZones, detector: BlockDetector, **options: object) -> VideoPipeline:
    return VideoPipeline(
        cam,
        detector,
        STORE,
        ESTATE,
        fps=5,
        config=PipelineConfig(motion=GATE),
        min_crop_hw=(96, 96),
        **options,  # type: ignore[arg-type]
    )


def frames_of(positions: list[list[tuple[float, float]]]) -> list[SourceFrame]:
    return [
        SourceFrame(scene(people), NOON_UTC + k * STEP, k, 0.0)
        for k, people in enumerate(positions)
    ]


def iou(a: np.ndarray, b: tuple[int, int, int, int]) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(inter / (area - inter))


def test_a_walker_is_detected_in_crops_mapped_back_and_counted_across_the_line() -> None:
    detector = BlockDetector()
    video = pipeline(camera(zones=[AISLE], lines=[LINE]), detector)
    path = walk((40, 150), (280, 150), 41)  # 6 px a frame: a brisk walk at 5 fps
    analysed = [video.process(frame) for frame in frames_of([[spot] for spot in path])]
    events = checked([event for frame in analysed for event in frame.events] + video.finish())

    crossings = of(events, Activity.LINE_CROSSING)
    assert [(event.direction, event.zone.uid if event.zone else None) for event in crossings] == [
        ("in", "door")
    ]
    assert [event.zone.uid for event in of(events, Activity.ZONE_ENTRY) if event.zone] == ["aisle"]
    assert len(of(events, Activity.ZONE_EXIT)) == 1  # at the end of the stream
    regions = [frame for frame in analysed if frame.gate.kind is GateKind.REGION]
    assert len(regions) >= 8
    assert any(shape[0] < 240 or shape[1] < 320 for shape in detector.seen)  # crops, not frames
    for frame, spot in zip(analysed, path, strict=True):
        if frame.gate.kind is GateKind.REGION and len(frame.people):
            assert iou(frame.detections.xyxy[0], person_box(*spot)) > 0.9  # in frame pixels
    ids = {int(i) for frame in analysed for i in frame.people.tracker_id}
    assert len(ids) == 1
    stats = video.stats
    assert stats.analysed == 41
    assert stats.detector_runs == stats.full_frames + stats.region_frames


def test_someone_standing_still_keeps_their_id_while_the_detector_rests() -> None:
    detector = BlockDetector()
    video = pipeline(camera(), detector)
    positions = [[spot] for spot in walk((60, 150), (120, 150), 11)] + [[(120.0, 150.0)]] * 30
    analysed = [video.process(frame) for frame in frames_of(positions)]
    kinds = [frame.gate.kind for frame in analysed]
    assert kinds.count(GateKind.IDLE) >= 15
    seen = [frame.people.tracker_id.tolist() for frame in analysed[2:]]
    assert {tuple(ids) for ids in seen} == {(seen[0][0],)}  # the same one person, every frame
    stats = video.stats
    assert stats.idle_frames == kinds.count(GateKind.IDLE)
    assert stats.detector_runs == len(detector.seen) == stats.analysed - stats.idle_frames
    full_times = [frame.time for frame in analysed if frame.gate.kind is GateKind.FULL]
    gaps = [later - earlier for earlier, later in itertools.pairwise(full_times)]
    assert gaps
    assert max(gaps) <= timedelta(seconds=2)


def test_people_outside_the_crop_are_kept_while_someone_else_moves() -> None:
    detector = BlockDetector()
    video = pipeline(camera(), detector)
    stander = (280.0, 220.0)
    positions = [[stander, spot] for spot in walk((30, 110), (110, 110), 16)]
    analysed = [video.process(frame) for frame in frames_of(positions)]
    region_frames = [frame for frame in analysed if frame.gate.kind is GateKind.REGION]
    assert region_frames
    for frame in region_frames:
        assert frame.gate.region is not None
        assert frame.gate.region.x1 < person_box(*stander)[0]  # the crop leaves the stander out
    stander_ids = set()
    for frame in analysed[2:]:
        assert len(frame.people) == 2
        right = int(np.argmax(frame.people.xyxy[:, 0]))
        stander_ids.add(int(frame.people.tracker_id[right]))
        assert iou(frame.people.xyxy[right], person_box(*stander)) > 0.9
    assert len(stander_ids) == 1


def test_frames_larger_than_the_zones_are_analysed_at_the_zones_size() -> None:
    detector = BlockDetector()
    video = pipeline(camera(zones=[AISLE]), detector)
    spots = walk((150, 150), (250, 150), 21)
    big = [
        SourceFrame(cv2.resize(scene([spot]), (640, 480)), NOON_UTC + k * STEP, k, 0.0)
        for k, spot in enumerate(spots)
    ]
    analysed = [video.process(frame) for frame in big]
    assert analysed[-1].image.shape == (240, 320, 3)
    assert iou(analysed[-1].visible.xyxy[0], person_box(*spots[-1])) > 0.8
    entries = of([event for frame in analysed for event in frame.events], Activity.ZONE_ENTRY)
    assert len(entries) == 1
    assert entries[0].bbox is not None
    assert entries[0].bbox.x < 320


def test_restricted_entry_keeps_a_blurred_snapshot_at_the_store(tmp_path: Path) -> None:
    stockroom = {"id": "stockroom", "kind": "restricted", "polygon": rect(200, 60, 310, 230)}
    snapshots = SnapshotStore(SnapshotConfig(folder=tmp_path), clock=lambda: NOON_UTC)
    video = pipeline(camera(zones=[stockroom]), BlockDetector(), snapshots=snapshots)
    spots = walk((120, 150), (260, 150), 24)
    events = [
        e for frame in frames_of([[spot] for spot in spots]) for e in video.process(frame).events
    ]
    entries = of(checked(events), Activity.RESTRICTED_AREA_ENTRY)
    assert len(entries) == 1
    uri = entries[0].snapshot_uri
    assert uri is not None
    assert uri.startswith("file://")
    path = Path(uri.removeprefix("file://"))
    assert path.is_file()
    assert path.is_relative_to(tmp_path)
    written = cv2.imread(str(path))
    box = entries[0].bbox
    assert box is not None
    face = written[
        round(box.y) + 3 : round(box.y) + 11, round(box.x) + 4 : round(box.x + box.width) - 4
    ]
    assert cv2.Laplacian(face, cv2.CV_64F).var() < 200


def test_exports_blur_every_head_the_raw_frame_does_not() -> None:
    video = pipeline(camera(), BlockDetector())
    spots = [(100.0, 150.0), (220.0, 200.0)]
    analysed = [video.process(frame) for frame in frames_of([spots] * 3)][-1]
    exported = video.exportable(analysed)
    for spot in spots:
        x0, y0, x1, _ = person_box(*spot)
        face = (slice(y0 + 1, y0 + 11), slice(x0 + 2, x1 - 2))
        assert cv2.Laplacian(analysed.image[face], cv2.CV_64F).var() > 1000
        assert cv2.Laplacian(exported[face], cv2.CV_64F).var() < 100
    feet = (slice(140, 150), slice(92, 108))
    np.testing.assert_array_equal(exported[feet], analysed.image[feet])


def test_no_frames_no_events() -> None:
    video = pipeline(camera(), BlockDetector())
    assert video.finish() == []
    assert isinstance(video.tracker.update(sv.Detections.empty(), detected=False), sv.Detections)


# --- Real footage: PETS 2009 S2.L1 (opencv-doc's vtest.avi) with the sample zones --------------

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")
NANODET = model_paths.nanodet()


@pytest.mark.slow
@pytest.mark.skipif(
    not VTEST.is_file() or not NANODET.is_file(),
    reason="needs opencv-doc and NanoDet (make test installs both)",
)
def test_vtest_people_are_tracked_counted_across_lines_and_enter_zones() -> None:
    """The first 15 s (150 frames, 75 analysed at 5 fps). Checked by eye on the frames:
    on the west line a man in black walks left across it (~frame 70) and back right (~94);
    on the north line a couple walks up and right, the man crossing it at x ~630 (~frame
    144), the woman beside him just past its east end (x ~650), so she is not counted.
    About ten people are in view in these 15 s; the plaza is entered from every side."""
    from vigil.estate import load_sample_estate
    from vigil.video.detectors import build_detector
    from vigil.video.sources import SourceConfig, VideoSource
    from vigil.video.zones import load_sample_zones

    estate = load_sample_estate()
    view = load_sample_zones().camera("pets2009-view001")
    detector = build_detector({"model": str(NANODET)})
    video = VideoPipeline(view, detector, estate.store("031"), estate, fps=5)
    start = NOON_UTC.replace(hour=20)  # noon in Portland: store 031 is trading
    source = VideoSource(SourceConfig(uri=str(VTEST), fps=5, start=start, duration_seconds=15.0))
    events, lengths = [], {}
    for frame in source.frames():
        analysed = video.process(frame)
        events.extend(analysed.events)
        for track in analysed.people.tracker_id.tolist():
            lengths[track] = lengths.get(track, 0) + 1
    events = checked(events + video.finish())

    footfall = {line.line: (line.in_count, line.out_count) for line in video.engine.footfall()}
    assert footfall["west"] == (1, 1)
    assert footfall["north"][0] == 0
    assert 1 <= footfall["north"][1] <= 2
    steady = [track for track, frames in lengths.items() if frames >= 10]  # 2 s or more
    assert 8 <= len(steady) <= 30  # ~10 people, some split into two tracks, a few cones
    entries = [e for e in of(events, Activity.ZONE_ENTRY) if e.zone and e.zone.uid == "plaza"]
    assert len(entries) >= 5
    assert not of(events, Activity.AFTER_HOURS_PRESENCE)
    assert video.stats.analysed == 75
    assert video.stats.detector_runs == video.stats.full_frames + video.stats.region_frames
