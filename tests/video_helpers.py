"""Shared helpers of the video tests: a one-store estate, cameras, tracks, a frame loop."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import supervision as sv

from ocsf_check import OFFICIAL_OBJECT, ocsf_errors
from vigil.estate import Estate, Peak, Store
from vigil.events import EventBatch, VideoObservation, parse_event
from vigil.video.behaviours import Activity, VideoEngine
from vigil.video.zones import CameraZones

W, H = 320, 240
STEP = timedelta(milliseconds=200)  # 5 frames a second
NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday: the store is open
NIGHT = datetime(2026, 3, 4, 3, 0, tzinfo=UTC)
CHRISTMAS_NOON = datetime(2026, 12, 25, 12, 0, tzinfo=UTC)
BLANK = np.zeros((H, W, 3), dtype=np.uint8)

Box = tuple[int, float, float]
"""A person: track id and where they stand (the bottom centre of a 20x60 box)."""


def make_estate() -> Estate:
    store = {
        "uid": "031",
        "name": "Leeds Briggate",
        "timezone": "Europe/London",
        "opening_hours": dict.fromkeys(
            ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], "08:00-20:00"
        ),
        "peaks": [Peak(name="Christmas", start=date(2026, 12, 25), closed=True)],
    }
    return Estate.model_validate(
        {
            "organisation": {"uid": "acme", "name": "Acme"},
            "regions": [{"uid": "north", "name": "North", "stores": [store]}],
        }
    )


ESTATE = make_estate()
STORE: Store = ESTATE.store("031")


def rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]


def camera(
    zones: Sequence[dict[str, Any]] = (), lines: Sequence[dict[str, Any]] = (), **limits: Any
) -> CameraZones:
    return CameraZones.model_validate(
        {
            "uid": "s031-cam-01",
            "width": W,
            "height": H,
            "thresholds": limits,
            "zones": list(zones),
            "lines": list(lines),
        }
    )


def detections(people: Iterable[Box], labels: str = "person") -> sv.Detections:
    rows = list(people)
    xyxy = np.array([[x - 10, y - 60, x + 10, y] for _, x, y in rows], dtype=np.float64)
    return sv.Detections(
        xyxy=xyxy.reshape(-1, 4),
        confidence=np.full(len(rows), 0.8),
        tracker_id=np.array([track for track, _, _ in rows], dtype=np.int64),
        data={"class_name": np.array([labels] * len(rows))},
    )


def checked(events: list[VideoObservation]) -> list[VideoObservation]:
    """Every event is valid OCSF (official objects inside) and survives JSON and columns."""
    for event in events:
        assert ocsf_errors(event, OFFICIAL_OBJECT) == []
        assert parse_event(event.model_dump(mode="json", by_alias=True)) == event
    if events:
        assert EventBatch.from_events(events).events() == events
    return events


def run(
    engine: VideoEngine,
    frames: Iterable[Iterable[Box]],
    start: datetime = NOON,
    images: Iterable[npt.NDArray[np.uint8]] | None = None,
) -> list[VideoObservation]:
    events: list[VideoObservation] = []
    pictures = images if images is not None else repeat(BLANK)
    for k, (people, image) in enumerate(zip(frames, pictures, strict=False)):
        events.extend(engine.update(start + k * STEP, image, detections(people)))
    return checked(events)


def engine_for(cam: CameraZones, **options: Any) -> VideoEngine:
    return VideoEngine(cam, STORE, ESTATE, **options)


def of(events: list[VideoObservation], activity: Activity) -> list[VideoObservation]:
    return [event for event in events if event.activity_id == activity]


def at(seconds: float) -> datetime:
    return NOON + timedelta(seconds=seconds)
