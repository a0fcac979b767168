"""Shelf interaction and shelf sweeping, from who is at a shelf and how its pixels change.

A person is at a shelf when their anchor is in the shelf zone or at least a tenth
of their box lies over it (`AT_SHELF_OVERLAP`). Interaction: one
person at a shelf for `interaction_seconds`. Sweep: with exactly one person at
the shelf, the shelf's pixels outside every person box differ from its
background by a large fraction (`sweep_fraction`), or change in several steps
(`sweep_changes` within `sweep_window_seconds`). The background is a running mean
of the shelf region: slow while someone is at the shelf (so what they take shows),
fast while nobody is (so light and restocking are absorbed, not blamed on the next
shopper). All pixel work is whole-array numpy and OpenCV.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.geometry import box_areas, box_overlap
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Scene
from vigil.video.zones import ZoneKind

AT_SHELF_OVERLAP = 0.1
"""Share of a person's box over the shelf zone that puts them at the shelf."""
ATTENDED_SECONDS = 20.0
"""Time constant of the background while someone is at the shelf."""
IDLE_SECONDS = 0.5
"""Time constant of the background while nobody is."""
MIN_VISIBLE = 0.2
"""Below this share of the shelf visible (outside boxes), the change is not measured."""


@dataclass
class ShelfState:
    """One shelf zone: its mask, its background and who has been at it."""

    zone: int
    x0: int
    y0: int
    mask: npt.NDArray[np.bool_]
    """The zone's pixels within its bounding rectangle."""
    integral: npt.NDArray[np.float64]
    """Integral image of the zone over the whole frame, for box overlaps."""
    background: npt.NDArray[np.float32] | None = None
    level: float = 0.0
    """Changed fraction when the last change was counted."""
    changes: deque[int] = field(default_factory=deque)
    sweeper: int | None = None
    at_since: dict[int, int] = field(default_factory=dict)
    last_at: dict[int, int] = field(default_factory=dict)
    interacted: set[int] = field(default_factory=set)
    swept: set[int] = field(default_factory=set)


@behaviours.register("shelf")
class ShelfWatch(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        self.grace_ms = round(self.camera.exit_grace_seconds * 1000)
        self.shelves = [
            _shelf(i, zone.polygon, self.camera.width, self.camera.height)
            for i, zone in enumerate(self.camera.zones)
            if zone.kind is ZoneKind.SHELF
        ]
        self._last_ms: int | None = None

    def update(self, scene: Scene) -> list[VideoObservation]:
        elapsed = 0.0 if self._last_ms is None else (scene.ms - self._last_ms) / 1000.0
        self._last_ms = scene.ms
        events: list[VideoObservation] = []
        areas = np.maximum(box_areas(scene.tracks.boxes), 1.0)
        for shelf in self.shelves:
            overlap = box_overlap(scene.tracks.boxes, shelf.integral) / areas
            at = scene.inside[shelf.zone] | (overlap >= AT_SHELF_OVERLAP)
            events.extend(self._interactions(shelf, scene, at))
            fraction = self._changed_fraction(
                shelf, scene, attended=bool(at.any()), elapsed=elapsed
            )
            events.extend(self._sweep(shelf, scene, at, fraction))
        return events

    def _interactions(
        self, shelf: ShelfState, scene: Scene, at: npt.NDArray[np.bool_]
    ) -> list[VideoObservation]:
        for track_id in [t for t, ms in shelf.last_at.items() if scene.ms - ms > self.grace_ms]:
            for book in (shelf.at_since, shelf.last_at):
                del book[track_id]
            shelf.interacted.discard(track_id)
            shelf.swept.discard(track_id)
        limit = self.limits[shelf.zone].interaction_seconds
        events = []
        for column in np.flatnonzero(at).tolist():
            track_id = int(scene.tracks.ids[column])
            since = shelf.at_since.setdefault(track_id, scene.ms)
            shelf.last_at[track_id] = scene.ms
            seconds = (scene.ms - since) / 1000.0
            if limit is None or seconds < limit or track_id in shelf.interacted:
                continue
            shelf.interacted.add(track_id)
            zone = self.zone(shelf.zone)
            details = Details(
                zone=zone,
                subject=scene.subject(column),
                dwell_seconds=seconds,
                start_ms=since,
                message=f"Track {track_id} at {zone.name or zone.id} for {seconds:.0f} s",
            )
            events.append(self.event(scene, Activity.SHELF_INTERACTION, details))
        return events

    def _changed_fraction(
        self, shelf: ShelfState, scene: Scene, *, attended: bool, elapsed: float
    ) -> float:
        """Share of the visible shelf that differs from its background; NaN if hidden."""
        height, width = shelf.mask.shape
        crop = scene.image[shelf.y0 : shelf.y0 + height, shelf.x0 : shelf.x0 + width]
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32)
        visible = shelf.mask & ~_covered(scene.tracks.boxes, shelf.x0, shelf.y0, shelf.mask.shape)
        if shelf.background is None:
            shelf.background = grey
            return 0.0
        limits = self.limits[shelf.zone]
        changed = np.abs(grey - shelf.background) > limits.shelf_pixel_delta
        seen = int(np.count_nonzero(visible))
        tau = ATTENDED_SECONDS if attended else IDLE_SECONDS
        alpha = 1.0 - math.exp(-elapsed / tau)
        cv2.accumulateWeighted(grey, shelf.background, alpha, mask=visible.astype(np.uint8))
        if seen < MIN_VISIBLE * np.count_nonzero(shelf.mask):
            return math.nan
        return int(np.count_nonzero(changed & visible)) / seen

    def _sweep(
        self, shelf: ShelfState, scene: Scene, at: npt.NDArray[np.bool_], fraction: float
    ) -> list[VideoObservation]:
        limits = self.limits[shelf.zone]
        columns = np.flatnonzero(at)
        track_id = int(scene.tracks.ids[columns[0]]) if len(columns) == 1 else None
        if track_id is None or track_id != shelf.sweeper or math.isnan(fraction):
            shelf.sweeper = track_id
            shelf.changes.clear()
            shelf.level = 0.0 if math.isnan(fraction) else fraction
            return []
        if fraction >= shelf.level + limits.shelf_change_fraction:
            shelf.changes.append(scene.ms)
            shelf.level = fraction
        shelf.level = min(shelf.level, fraction)
        window_ms = round(limits.sweep_window_seconds * 1000)
        while shelf.changes and scene.ms - shelf.changes[0] > window_ms:
            shelf.changes.popleft()
        large = limits.sweep_fraction is not None and fraction >= limits.sweep_fraction
        many = limits.sweep_changes is not None and len(shelf.changes) >= limits.sweep_changes
        if not (large or many) or track_id in shelf.swept:
            return []
        shelf.swept.add(track_id)
        zone = self.zone(shelf.zone)
        details = Details(
            zone=zone,
            subject=scene.subject(int(columns[0])),
            message=(
                f"Track {track_id} alone at {zone.name or zone.id}: {fraction:.0%} of the "
                f"shelf changed, {len(shelf.changes)} changes in {limits.sweep_window_seconds:g} s"
            ),
            extra={"changed_fraction": round(fraction, 3), "changes": len(shelf.changes)},
        )
        return [self.event(scene, Activity.SHELF_SWEEP, details)]


def _shelf(index: int, polygon: list[tuple[float, float]], width: int, height: int) -> ShelfState:
    full = np.zeros((height, width), dtype=np.uint8)
    cv2.fillPoly(full, [np.round(np.asarray(polygon)).astype(np.int32)], 1)
    if not full.any():  # thinner than a pixel: keep its first corner
        x, y = polygon[0]
        full[min(round(y), height - 1), min(round(x), width - 1)] = 1
    rows = np.flatnonzero(full.any(axis=1))
    cols = np.flatnonzero(full.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    integral = np.asarray(cv2.integral(full, sdepth=cv2.CV_64F), dtype=np.float64)
    return ShelfState(index, x0, y0, full[y0:y1, x0:x1].astype(bool), integral)


def _covered(
    boxes: npt.NDArray[np.float64], x0: int, y0: int, shape: tuple[int, ...]
) -> npt.NDArray[np.bool_]:
    """Pixels of a region under any box, by a 2-D difference array (no loop over boxes)."""
    height, width = shape[0], shape[1]
    diff = np.zeros((height + 1, width + 1), dtype=np.int32)
    left = np.clip(np.floor(boxes[:, 0]) - x0, 0, width).astype(np.intp)
    top = np.clip(np.floor(boxes[:, 1]) - y0, 0, height).astype(np.intp)
    right = np.clip(np.ceil(boxes[:, 2]) - x0, 0, width).astype(np.intp)
    bottom = np.clip(np.ceil(boxes[:, 3]) - y0, 0, height).astype(np.intp)
    np.add.at(diff, (top, left), 1)
    np.add.at(diff, (top, right), -1)
    np.add.at(diff, (bottom, left), -1)
    np.add.at(diff, (bottom, right), 1)
    covered: npt.NDArray[np.bool_] = diff.cumsum(axis=0).cumsum(axis=1)[:height, :width] > 0
    return covered
