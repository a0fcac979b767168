"""Privacy: head regions from person boxes, blurred beyond recognition, nothing else touched;
snapshots kept at the store blurred, and pruned by the age of what they show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from video_fakes import H, W, person_box, scene
from vigil.video.behaviours import Activity, SnapshotRequest
from vigil.video.errors import FrameError
from vigil.video.privacy import Privacy, PrivacyConfig
from vigil.video.snapshots import SnapshotConfig, SnapshotStore

NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        ((100, 50, 140, 250), [[80, 30, 160, 120]]),  # top quarter, plus a tenth of 200 around
        ((0, 0, 20, 40), [[0, 0, 24, 14]]),  # clipped at the frame's corner
        ((300, 230, 330, 250), [[298, 228, 320, 237]]),  # and at the right edge
        ((50, 50, 60, 50), []),  # no height: no head
    ],
)
def test_head_regions(box: tuple[float, float, float, float], expected: list[list[int]]) -> None:
    heads = Privacy().head_regions(np.array([box], np.float64), (H, W))
    assert heads.tolist() == expected


def test_heads_are_blurred_and_nothing_else_changes() -> None:
    people = [(100.0, 150.0), (220.0, 200.0)]
    image = scene(people)
    before = image.copy()
    boxes = np.array([person_box(*spot) for spot in people], np.float64)
    safe = Privacy(PrivacyConfig(head_fraction=0.2, margin=0.0)).apply(image, boxes)
    np.testing.assert_array_equal(image, before)  # the input is left alone
    heads = Privacy(PrivacyConfig(head_fraction=0.2, margin=0.0)).head_regions(boxes, (H, W))
    untouched = np.ones((H, W), dtype=bool)
    for x0, y0, x1, y1 in heads.tolist():
        untouched[y0:y1, x0:x1] = False
        detail_before = cv2.Laplacian(before[y0:y1, x0:x1], cv2.CV_64F).var()
        detail_after = cv2.Laplacian(safe[y0:y1, x0:x1], cv2.CV_64F).var()
        assert detail_before > 1000  # the checkered "face"
        assert detail_after < detail_before / 20
    np.testing.assert_array_equal(safe[untouched], before[untouched])


def test_no_people_is_an_untouched_copy_and_a_bad_frame_is_refused() -> None:
    image = scene([])
    safe = Privacy().apply(image, np.zeros((0, 4)))
    np.testing.assert_array_equal(safe, image)
    assert safe is not image
    with pytest.raises(FrameError, match="H x W x 3 uint8"):
        Privacy().apply(np.zeros((10, 10), np.uint8), np.zeros((0, 4)))


def request(moment: datetime, track: int | None = 7) -> SnapshotRequest:
    spot = (160.0, 180.0)
    box = person_box(*spot)
    return SnapshotRequest(
        time=moment,
        camera_uid="s031-cam-01",
        activity=Activity.RESTRICTED_AREA_ENTRY,
        image=scene([spot]),
        zone_uid="stockroom",
        track_id=track,
        box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
    )


def test_a_snapshot_is_a_blurred_jpeg_at_the_store_named_by_camera_day_and_time(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(SnapshotConfig(folder=tmp_path), clock=lambda: NOW)
    moment = NOW - timedelta(minutes=5, milliseconds=250)
    uri = store.save(request(moment), np.zeros((0, 4)))
    path = tmp_path / "s031-cam-01" / "2026-03-04" / "115459750-restricted_area_entry-7.jpg"
    assert uri == path.resolve().as_uri()
    written = cv2.imread(str(path))
    assert written.shape == (H, W, 3)
    x0, y0, x1, _ = person_box(160.0, 180.0)
    original = request(moment).image
    face = (slice(y0 + 3, y0 + 11), slice(x0 + 3, x1 - 3))
    assert cv2.Laplacian(original[face], cv2.CV_64F).var() > 1000
    assert cv2.Laplacian(written[face], cv2.CV_64F).var() < 200
    assert store.saved == 1


def test_snapshots_older_than_the_retention_are_pruned_by_when_they_were_taken(
    tmp_path: Path,
) -> None:
    taken = [NOW + timedelta(days=3, hours=-2), NOW + timedelta(days=1, hours=2), NOW]
    now = [NOW]
    store = SnapshotStore(SnapshotConfig(folder=tmp_path, retention_days=2), clock=lambda: now[0])
    for moment in taken:  # each saved when it was taken; pruning waits for its hourly pass
        now[0] = moment
        store.save(request(moment), np.zeros((0, 4)))
    foreign = tmp_path / "s031-cam-01" / "2026-03-01" / "notes.jpg"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"not ours")
    assert len(list(tmp_path.rglob("*.jpg"))) == 4
    removed = store.prune(NOW + timedelta(days=3, hours=1))  # cutoff: 2026-03-05 13:00
    assert removed == 1  # 03-04 12:00 goes; 03-05 14:00 and 03-07 10:00 stay
    left = sorted(path.parent.name for path in tmp_path.rglob("*-7.jpg"))
    assert left == ["2026-03-05", "2026-03-07"]
    assert foreign.exists()
    assert not (tmp_path / "s031-cam-01" / "2026-03-04").exists()  # empty day folder removed


def test_an_event_already_past_retention_gets_no_snapshot(tmp_path: Path) -> None:
    store = SnapshotStore(SnapshotConfig(folder=tmp_path, retention_days=1), clock=lambda: NOW)
    assert store.save(request(NOW - timedelta(days=2)), np.zeros((0, 4))) is None
    assert not any(tmp_path.iterdir())


def test_the_hook_keeps_the_event_when_the_snapshot_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "snapshots"
    blocker.write_text("a file where the folder should be")
    store = SnapshotStore(SnapshotConfig(folder=blocker), clock=lambda: NOW)
    hook = store.hook(lambda: np.zeros((0, 4)))
    assert hook(request(NOW)) is None
