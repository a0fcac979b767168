"""Video behaviours on synthetic tracks whose ground truth is known."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import cv2
import numpy as np
import pytest
import supervision as sv

from video_helpers import (
    BLANK,
    CHRISTMAS_NOON,
    NIGHT,
    NOON,
    STEP,
    Box,
    H,
    W,
    at,
    camera,
    checked,
    detections,
    engine_for,
    of,
    rect,
    run,
)
from vigil.events import SeverityId
from vigil.video.behaviours import (
    Activity,
    Footfall,
    FrameError,
    PathCount,
    SnapshotRequest,
    Transition,
    UnknownBehaviourError,
)
from vigil.video.behaviours.geometry import points_in_polygon
from vigil.video.heatmap import HeatMap
from vigil.video.zones import CameraZones, load_sample_zones

# --- loitering -------------------------------------------------------------------


def test_standing_forty_seconds_gives_one_loitering_event_at_the_threshold() -> None:
    cam = camera([{"id": "lawn", "kind": "area", "polygon": rect(0, 0, W, H)}], loiter_seconds=30)
    frames = [[(1, 100, 150), (2, 20 + (k % 100) * 2, 200)] for k in range(201)]  # 40 s
    events = of(run(engine_for(cam), frames), Activity.LOITERING)
    assert [(e.track_uid, e.time, e.dwell_seconds) for e in events] == [
        ("1", at(30), 30.0),
        ("2", at(30), 30.0),  # walking about inside the zone counts too
    ]
    first = events[0]
    assert first.zone is not None
    assert (first.zone.uid, first.zone.type) == ("lawn", "area")
    assert first.start_time == NOON
    assert first.bbox is not None
    assert (first.bbox.x, first.bbox.y, first.bbox.width, first.bbox.height) == (90, 90, 20, 60)
    assert first.confidence == 0.8
    assert first.object_class == "person"
    assert first.severity_id == SeverityId.LOW
    assert first.camera is not None
    assert first.camera.uid == "s031-cam-01"
    assert first.store is not None
    assert (first.store.uid, first.store.region_uid) == ("031", "north")


def test_loitering_once_per_visit_and_never_in_a_queue() -> None:
    zones = [
        {"id": "aisle", "kind": "area", "polygon": rect(0, 0, 160, H)},
        {"id": "till", "kind": "queue", "polygon": rect(0, 0, 160, H)},
    ]
    inside, outside = [(1, 80, 150)], [(1, 250, 150)]
    frames = [inside] * 175 + [outside] * 25 + [inside] * 175  # 35 s, 5 s out, 35 s
    events = of(run(engine_for(camera(zones, loiter_seconds=30)), frames), Activity.LOITERING)
    assert [(e.zone.uid if e.zone else None, e.time) for e in events] == [
        ("aisle", at(30)),
        ("aisle", at(40 + 30)),
    ]


# --- line crossing and footfall --------------------------------------------------


def test_two_tracks_crossing_in_opposite_directions_count_one_in_one_out() -> None:
    door = {"id": "door", "start": [160, 20], "end": [160, 200], "in_direction": "right"}
    engine = engine_for(camera(lines=[door]))
    frames = [
        [
            (1, 100 + 2 * k, 150),  # left to right: in
            (2, 220 - 2 * k, 120),  # right to left: out
            (3, 160 + (2 if k % 2 else -2), 100),  # jitter on the line: nothing
            (4, 100 + 2 * k, 230),  # crosses below the line's end: nothing
        ]
        for k in range(60)
    ]
    events = of(run(engine, frames), Activity.LINE_CROSSING)
    assert sorted((e.track_uid, e.direction) for e in events) == [("1", "in"), ("2", "out")]
    assert engine.footfall() == [Footfall("door", in_count=1, out_count=1)]
    assert all(e.zone is not None and e.zone.type == "line" for e in events)


# --- restricted area and after hours ---------------------------------------------


def test_entering_a_restricted_zone_is_one_event_at_entry() -> None:
    zones = [
        {"id": "floor", "kind": "area", "polygon": rect(0, 0, 200, H)},
        {"id": "stock", "kind": "restricted", "name": "Stockroom", "polygon": rect(200, 0, W, H)},
    ]
    frames = [[(7, min(52 + 5 * k, 300), 150)] for k in range(60)]
    events = of(run(engine_for(camera(zones)), frames), Activity.RESTRICTED_AREA_ENTRY)
    assert [(e.track_uid, e.time) for e in events] == [("7", at(6))]
    assert events[0].message == "Track 7 entered restricted area Stockroom"
    assert events[0].severity_id == SeverityId.MEDIUM


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(NOON, [], id="open"),
        pytest.param(NIGHT, [("1", "floor"), ("2", None)], id="night"),
        pytest.param(CHRISTMAS_NOON, [("1", "floor"), ("2", None)], id="closed-for-christmas"),
    ],
)
def test_after_hours_presence_once_per_track(
    start: datetime, expected: list[tuple[str, str | None]]
) -> None:
    zones = [{"id": "floor", "kind": "area", "polygon": rect(0, 0, 160, H)}]
    frames = [[(1, 80, 150), (2, 250, 150)]] * 20
    events = of(run(engine_for(camera(zones)), frames, start=start), Activity.AFTER_HOURS_PRESENCE)
    assert [(e.track_uid, e.zone.uid if e.zone else None) for e in events] == expected
    assert all(e.time == start and e.severity_id == SeverityId.HIGH for e in events)


# --- queues and crowding ---------------------------------------------------------


def queue_camera(**limits: Any) -> CameraZones:
    queue = {"id": "till-1", "kind": "checkout", "polygon": rect(0, 0, 160, H)}
    return camera([queue], service_seconds=60, **limits)


def test_queue_length_and_estimated_wait() -> None:
    def people(k: int) -> list[Box]:
        seconds = k * 0.2
        waiting = [(i, 40 * i, 150) for i in (1, 2, 3) if seconds < 10 * i]
        return waiting + ([(4, 80, 200)] if seconds >= 40 else [])

    events = of(
        run(engine_for(queue_camera()), [people(k) for k in range(251)]), Activity.QUEUE_LENGTH
    )
    got = [
        (e.time, e.count, e.unmapped["wait_basis"], e.unmapped.get("estimated_wait_seconds"))
        for e in events
        if e.unmapped is not None
    ]
    assert got == [
        (at(0), 3, "service_time", 180.0),  # 3 people x 60 s
        (at(13), 2, "service_time", 120.0),  # gone at 10 s, out after the 1 s grace, held 2 s
        (at(23), 1, "service_time", 60.0),
        (at(33), 0, "observed", 19.8),  # mean of 9.8, 19.8 and 29.8 s in the queue
        (at(42), 1, "observed", 19.8),
    ]


def test_an_unchanged_queue_is_reported_every_period() -> None:
    cam = queue_camera(queue_report_seconds=30)
    passer_by = [(2, 100, 100)]  # walks through the queue zone in a second
    frames = [[(1, 80, 150)] + (passer_by if 50 <= k < 55 else []) for k in range(326)]  # 65 s
    events = of(run(engine_for(cam), frames), Activity.QUEUE_LENGTH)
    assert [(e.time, e.count) for e in events] == [(at(0), 1), (at(30), 1), (at(60), 1)]


def test_crowding_once_per_episode() -> None:
    cam = camera([{"id": "promo", "kind": "area", "polygon": rect(0, 0, 160, H)}], crowd_count=3)
    crowd = [(i, 20 + 25 * i, 150) for i in range(1, 6)]
    frames = [crowd[:4]] * 10 + [crowd] * 10 + [crowd[:3]] * 10 + [crowd[:4]] * 10
    events = of(run(engine_for(cam), frames), Activity.CROWDING)
    assert [(e.time, e.count) for e in events] == [(at(0), 4), (at(6), 4)]


# --- dwell, entry and exit, paths ------------------------------------------------


def test_dwell_on_exit_and_entry_exit_events() -> None:
    aisle = {
        "id": "aisle",
        "kind": "area",
        "report_entry_exit": True,
        "polygon": rect(0, 0, 160, H),
    }
    frames = [
        [(1, 80, 150) if k < 50 else (1, 250, 150)] + ([(2, 60, 100)] if k < 3 else [])
        for k in range(80)
    ]
    events = run(engine_for(camera([aisle])), frames)
    dwell = of(events, Activity.DWELL)
    assert [(e.track_uid, e.time, e.dwell_seconds) for e in dwell] == [("1", at(11), 9.8)]
    assert (dwell[0].start_time, dwell[0].end_time) == (at(0), at(9.8))
    entries = [(e.track_uid, e.time) for e in of(events, Activity.ZONE_ENTRY)]
    exits = [(e.track_uid, e.time, e.dwell_seconds) for e in of(events, Activity.ZONE_EXIT)]
    assert entries == [("1", at(0)), ("2", at(0))]
    assert exits == [("2", at(1.6), 0.4), ("1", at(11), 9.8)]  # a short visit: no dwell


def test_zone_to_zone_paths_are_summarised() -> None:
    zones = [
        {"id": "a", "kind": "entrance", "polygon": rect(0, 0, 100, H)},
        {"id": "b", "kind": "area", "polygon": rect(100, 0, 200, H)},
        {"id": "c", "kind": "checkout", "polygon": rect(200, 0, W, H)},
    ]
    engine = engine_for(camera(zones))
    frames = [
        [(1, 50 + 5 * k, 150)] + ([(2, 50 + 3 * k, 120)] if k < 40 else []) for k in range(50)
    ]
    run(engine, frames)
    assert engine.paths().tracks == 1  # track 2 vanished more than the grace ago
    checked(engine.flush(at(10), BLANK))
    summary = engine.paths()
    assert summary.tracks == 2
    assert summary.paths == (PathCount(("a", "b"), 1), PathCount(("a", "b", "c"), 1))
    assert summary.transitions == (Transition("a", "b", 2), Transition("b", "c", 1))


# --- snapshots, input checks, geometry -------------------------------------------


def test_snapshot_hook_is_asked_for_notable_events_only() -> None:
    requests: list[SnapshotRequest] = []

    def keep(request: SnapshotRequest) -> str:
        requests.append(request)
        return f"file:///snapshots/{request.activity.name.lower()}-{request.track_id}.jpg"

    cam = camera(
        [{"id": "aisle", "kind": "area", "polygon": rect(0, 0, W, H)}],
        [{"id": "door", "start": [160, 0], "end": [160, H], "in_direction": "right"}],
        loiter_seconds=5,
    )
    events = run(engine_for(cam, snapshot=keep), [[(3, 100 + 2 * k, 150)] for k in range(40)])
    loitering, crossing = of(events, Activity.LOITERING), of(events, Activity.LINE_CROSSING)
    assert [e.snapshot_uri for e in loitering] == ["file:///snapshots/loitering-3.jpg"]
    assert [e.snapshot_uri for e in crossing] == [None]
    (request,) = requests
    assert (request.camera_uid, request.zone_uid, request.box) == (
        "s031-cam-01",
        "aisle",
        (140, 90, 160, 150),
    )


def test_bad_frames_are_frame_errors() -> None:
    engine = engine_for(camera())
    with pytest.raises(FrameError, match="aware"):
        engine.update(datetime(2026, 3, 4, 12, 0), BLANK, detections([]))
    with pytest.raises(FrameError, match="zones are drawn for"):
        engine.update(NOON, np.zeros((10, 10, 3), np.uint8), detections([]))
    with pytest.raises(FrameError, match="tracker_id"):
        engine.update(NOON, BLANK, sv.Detections(xyxy=np.array([[0.0, 0.0, 5.0, 5.0]])))
    engine.update(NOON, BLANK, detections([]))
    with pytest.raises(FrameError, match="older than the last one"):
        engine.update(NOON - STEP, BLANK, detections([]))


def test_only_the_named_behaviours_run() -> None:
    cam = camera([{"id": "stock", "kind": "restricted", "polygon": rect(0, 0, W, H)}])
    engine = engine_for(cam, behaviour_names=["loitering", "dwell"])
    assert run(engine, [[(1, 50, 150)]] * 10, start=NIGHT) == []  # no entry, no after-hours
    with pytest.raises(UnknownBehaviourError, match="unknown video behaviour 'teleport'"):
        engine_for(cam, behaviour_names=["teleport"])


def test_unconfirmed_tracks_and_other_classes_are_ignored() -> None:
    heat = HeatMap(W, H)
    engine = engine_for(camera(), heatmap=heat)
    engine.update(NOON, BLANK, detections([(-1, 50, 50)]))
    engine.update(NOON + STEP, BLANK, detections([(4, 50, 50)], labels="car"))
    assert heat.samples == 0


def test_point_in_polygon_matches_opencv() -> None:
    rng = np.random.default_rng(11)
    for _ in range(20):
        corners = int(rng.integers(3, 12))
        angles = np.sort(rng.uniform(0, 2 * np.pi, corners))
        radii = rng.uniform(20, 100, corners)
        polygon = np.stack([160 + radii * np.cos(angles), 120 + radii * np.sin(angles)], axis=1)
        points = rng.uniform(0, 320, (400, 2))
        truth = np.array(
            [
                cv2.pointPolygonTest(polygon.astype(np.float32), (float(x), float(y)), True)
                for x, y in points
            ]
        )
        clear = np.abs(truth) > 1e-3
        ours = points_in_polygon(points, [(float(x), float(y)) for x, y in polygon])
        assert np.array_equal(ours[clear], truth[clear] > 0)


def test_the_sample_zones_on_the_pets_view() -> None:
    """A walker along the PETS 2009 walkway, east past the west line, into the plaza."""
    view = load_sample_zones().camera("pets2009-view001")
    frame = np.zeros((view.height, view.width, 3), dtype=np.uint8)
    engine = engine_for(view)
    frames = [[(1, 200 + 8 * k, 230)] for k in range(30)]  # x 200 to 432 along y = 230
    events = run(engine, frames, images=[frame] * len(frames))
    assert engine.footfall()[0] == Footfall("west", in_count=1, out_count=0)
    entries = of(events, Activity.ZONE_ENTRY)
    assert [(e.zone.uid if e.zone else None, e.time) for e in entries] == [("plaza", at(0))]
    assert [e.zone.uid if e.zone else None for e in of(events, Activity.LINE_CROSSING)] == ["west"]
