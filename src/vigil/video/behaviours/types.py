"""What the behaviours share: the frame as they see it, visits, and their summaries.

The engine computes a `Scene` once per frame (anchors, zone membership with exit
grace, visits that began and ended) so that each behaviour only compares arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from vigil.video.errors import VideoError

Image = npt.NDArray[np.uint8]
"""A BGR frame, (height, width, 3)."""


class FrameError(VideoError):
    """A frame the engine cannot analyse: wrong size, no track ids, time going back."""


class UnknownBehaviourError(VideoError, LookupError):
    """A behaviour name that no plugin is registered under."""


class Activity(IntEnum):
    """`VideoObservation.ACTIVITIES`, by name."""

    LOITERING = 1
    RESTRICTED_AREA_ENTRY = 2
    AFTER_HOURS_PRESENCE = 3
    LINE_CROSSING = 4
    QUEUE_LENGTH = 5
    DWELL = 6
    SHELF_INTERACTION = 7
    SHELF_SWEEP = 8
    CROWDING = 9
    ZONE_ENTRY = 10
    ZONE_EXIT = 11


@dataclass(frozen=True)
class Tracks:
    """This frame's tracked detections, one row each."""

    ids: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]
    """(n, 4) x0, y0, x1, y1 in frame pixels."""
    anchors: npt.NDArray[np.float64]
    """(n, 2) bottom centre of each box: where the person stands."""
    confidence: npt.NDArray[np.float64]
    """(n,) detector confidence; NaN when the detector gave none."""
    labels: tuple[str | None, ...]

    def __len__(self) -> int:
        return len(self.ids)

    def subject(self, column: int) -> Subject:
        box = self.boxes[column]
        confidence = float(self.confidence[column])
        return Subject(
            track_id=int(self.ids[column]),
            box=(float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            confidence=None if np.isnan(confidence) else confidence,
            label=self.labels[column],
        )


@dataclass(frozen=True)
class Subject:
    """One tracked object, as an event reports it."""

    track_id: int
    box: tuple[float, float, float, float] | None
    confidence: float | None
    label: str | None


@dataclass
class Visit:
    """A track's stay in a zone, from the frame it entered to the last frame it was in."""

    zone: int
    """Index of the zone on the camera."""
    track_id: int
    entered_ms: int
    last_ms: int
    subject: Subject

    @property
    def seconds(self) -> float:
        return (self.last_ms - self.entered_ms) / 1000.0


@dataclass(frozen=True)
class Scene:
    """One analysed frame with the zone state every behaviour reads."""

    time: datetime
    ms: int
    """`time` as epoch milliseconds: exact arithmetic for thresholds."""
    image: Image
    tracks: Tracks
    inside: npt.NDArray[np.bool_]
    """(zones, n): the track is in the zone (an open visit)."""
    since_ms: npt.NDArray[np.int64]
    """(zones, n): when that visit began; -1 where `inside` is False."""
    entered: npt.NDArray[np.bool_]
    """(zones, n): the visit began on this frame."""
    occupancy: npt.NDArray[np.int64]
    """(zones,): people in each zone, counting those unseen for less than the grace."""
    exited: tuple[Visit, ...]
    """Visits that ended (out of the zone or unseen for longer than the grace)."""
    lost: tuple[int, ...]
    """Tracks unseen for longer than the grace: gone."""
    is_open: bool
    """The store is trading at `time`."""

    def subject(self, column: int) -> Subject:
        return self.tracks.subject(column)


@dataclass(frozen=True)
class SnapshotRequest:
    """What the runtime needs to keep a snapshot for an event."""

    time: datetime
    camera_uid: str
    activity: Activity
    image: Image
    zone_uid: str | None
    track_id: int | None
    box: tuple[float, float, float, float] | None


SnapshotHook = Callable[[SnapshotRequest], str | None]
"""Saves a snapshot (at the store) and returns its URI, or None when it kept none."""


@dataclass(frozen=True)
class Footfall:
    """People counted across one line since the engine started."""

    line: str
    in_count: int
    out_count: int


@dataclass(frozen=True)
class PathCount:
    """How many finished tracks went through these zones in this order."""

    zones: tuple[str, ...]
    tracks: int


@dataclass(frozen=True)
class Transition:
    """How many times a track went from one zone straight to another."""

    from_zone: str
    to_zone: str
    tracks: int


@dataclass(frozen=True)
class PathSummary:
    """Zone-to-zone paths of the tracks that have ended, most common first."""

    tracks: int
    paths: tuple[PathCount, ...]
    transitions: tuple[Transition, ...]
