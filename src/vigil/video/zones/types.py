"""Zones and lines drawn on a camera's view, with the thresholds of each behaviour.

A zones file holds one entry per camera: its frame size, camera-wide thresholds,
polygons (areas of a kind) and counting lines. Coordinates are pixels of the
analysed frame, x to the right and y downwards.

Thresholds inherit: a zone's own value, else the camera's, else the built-in
default. An explicit `null` switches a behaviour off for that zone or camera.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigil.video.errors import ZoneConfigError
from vigil.video.zones.geometry import polygon_problem

Point = tuple[float, float]
"""A pixel position (x, y) in the analysed frame."""

Uid = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        max_length=64,
        description="Identifier: letters, digits, '_', '.', '-'.",
    ),
]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ZoneKind(StrEnum):
    """What a zone is for; it decides which behaviours watch it."""

    AREA = "area"
    RESTRICTED = "restricted"
    SHELF = "shelf"
    QUEUE = "queue"
    CHECKOUT = "checkout"
    ENTRANCE = "entrance"


QUEUE_KINDS = frozenset({ZoneKind.QUEUE, ZoneKind.CHECKOUT})
"""Kinds where people wait to be served: queue length, no loitering."""


class Direction(StrEnum):
    """A direction on the image, for the way across a line that counts as `in`."""

    UP = "up"
    DOWN = "down"
    LEFT = "left"
    RIGHT = "right"

    @property
    def vector(self) -> Point:
        return _DIRECTION_VECTORS[self]


_DIRECTION_VECTORS: dict[Direction, Point] = {
    Direction.UP: (0.0, -1.0),
    Direction.DOWN: (0.0, 1.0),
    Direction.LEFT: (-1.0, 0.0),
    Direction.RIGHT: (1.0, 0.0),
}


class Thresholds(Model):
    """Limits of the behaviours; unset values inherit, `null` switches one off."""

    loiter_seconds: float | None = Field(
        default=60.0, gt=0, description="Time in a zone (moving or not) that is loitering."
    )
    crowd_count: int | None = Field(
        default=None, ge=1, description="Crowding when more than this many people are in a zone."
    )
    service_seconds: float | None = Field(
        default=90.0,
        gt=0,
        description="Service time per person in a queue, for the wait until waits are observed.",
    )
    queue_report_seconds: float = Field(
        default=30.0, gt=0, description="Longest gap between two queue length reports."
    )
    queue_settle_seconds: float = Field(
        default=2.0,
        ge=0,
        description="A new queue length is reported once it has held this long.",
    )
    interaction_seconds: float | None = Field(
        default=3.0, gt=0, description="Time at a shelf that is a shelf interaction."
    )
    sweep_fraction: float | None = Field(
        default=0.3,
        gt=0,
        le=1,
        description="Changed fraction of a shelf's pixels, with one person at it, that is a sweep.",
    )
    sweep_changes: int | None = Field(
        default=4,
        ge=2,
        description="Separate shelf changes within the sweep window, by one person, that are a sweep.",
    )
    sweep_window_seconds: float = Field(
        default=10.0, gt=0, description="Window in which shelf changes are counted."
    )
    shelf_change_fraction: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Changed fraction of a shelf's pixels that counts as one change.",
    )
    shelf_pixel_delta: int = Field(
        default=25,
        ge=1,
        le=255,
        description="Grey-level difference from the shelf's background that marks a pixel changed.",
    )
    min_dwell_seconds: float = Field(
        default=1.0, ge=0, description="Shorter visits are not reported as dwell."
    )


class Zone(Model):
    """An area of the view, as a simple polygon."""

    id: Uid = Field(description="Zone identifier, unique on the camera; events carry it.")
    name: str | None = Field(default=None, description="Display name, e.g. Checkout queue.")
    kind: ZoneKind = Field(description="area, restricted, shelf, queue, checkout or entrance.")
    polygon: list[Point] = Field(
        min_length=3, description="Corners in drawing order, pixels (x, y); closed implicitly."
    )
    report_entry_exit: bool = Field(
        default=False, description="Emit Zone Entry and Zone Exit events for this zone."
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="This zone's limits; unset ones are the camera's."
    )

    @field_validator("polygon")
    @classmethod
    def _simple_polygon(cls, polygon: list[Point]) -> list[Point]:
        problem = polygon_problem(np.asarray(polygon, dtype=np.float64))
        if problem is not None:
            raise ValueError(problem)
        return polygon


class Line(Model):
    """A counting line; crossing it in `in_direction` is `in`, the other way `out`."""

    id: Uid = Field(description="Line identifier, unique on the camera; events carry it.")
    name: str | None = Field(default=None, description="Display name, e.g. Main door.")
    start: Point = Field(description="One end, pixels (x, y).")
    end: Point = Field(description="The other end, pixels (x, y).")
    in_direction: Direction = Field(
        description="Which way across the line is `in`: up, down, left or right on the image."
    )
    margin_px: float = Field(
        default=3.0,
        ge=0,
        description="Dead band either side of the line, so jitter on it is not a crossing.",
    )

    @model_validator(mode="after")
    def _direction_crosses_line(self) -> Self:
        dx, dy = self.end[0] - self.start[0], self.end[1] - self.start[1]
        length = float(np.hypot(dx, dy))
        if length == 0:
            raise ValueError("start and end are the same point")
        ux, uy = self.in_direction.vector
        if abs(dx * uy - dy * ux) / length < 0.17:  # within 10 degrees of the line
            raise ValueError(
                f"in_direction {self.in_direction.value!r} runs along the line; "
                "choose a direction across it"
            )
        return self


class CameraZones(Model):
    """One camera's view: frame size, thresholds, zones and lines."""

    uid: Uid = Field(description="Camera identifier, as the estate's asset uid.")
    name: str | None = Field(default=None, description="Display name.")
    width: int = Field(gt=0, description="Width of the analysed frame, pixels.")
    height: int = Field(gt=0, description="Height of the analysed frame, pixels.")
    exit_grace_seconds: float = Field(
        default=1.0,
        ge=0,
        description="A track must be out of a zone (or unseen) this long before it has left.",
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="Limits for every zone of this camera."
    )
    zones: list[Zone] = Field(default_factory=list, description="Areas of the view.")
    lines: list[Line] = Field(default_factory=list, description="Counting lines.")

    def zone_thresholds(self, zone: Zone) -> Thresholds:
        """The zone's limits, its own values over the camera's."""
        own = {name: getattr(zone.thresholds, name) for name in zone.thresholds.model_fields_set}
        return self.thresholds.model_copy(update=own)


class ZonesFile(Model):
    """A zones file: the cameras of one store (or of part of one)."""

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    cameras: list[CameraZones] = Field(min_length=1, description="Cameras and their zones.")

    def camera(self, uid: str) -> CameraZones:
        for camera in self.cameras:
            if camera.uid == uid:
                return camera
        known = ", ".join(camera.uid for camera in self.cameras)
        raise ZoneConfigError(f"no camera {uid!r} in the zones file (known: {known})")


__all__ = [
    "QUEUE_KINDS",
    "CameraZones",
    "Direction",
    "Line",
    "Point",
    "Thresholds",
    "Zone",
    "ZoneKind",
    "ZonesFile",
]
