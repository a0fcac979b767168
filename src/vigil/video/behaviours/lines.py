"""Line crossing with direction, and footfall: people in and out across each line.

A track's side of each line is remembered; a crossing is the side flipping while
the anchor (bottom centre of the box) is within the line's ends. A dead band of
`margin_px` either side keeps a person standing on the line from counting.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vigil.events import VideoObservation
from vigil.video.behaviours.base import Behaviour, BehaviourContext, behaviours
from vigil.video.behaviours.geometry import signed_distances
from vigil.video.behaviours.observe import Details
from vigil.video.behaviours.types import Activity, Footfall, Scene

Sides = npt.NDArray[np.int8]


@behaviours.register("line_crossing")
class LineCrossing(Behaviour):
    def __init__(self, context: BehaviourContext) -> None:
        super().__init__(context)
        lines = self.camera.lines
        self.in_side = np.array(
            [_in_side(line.start, line.end, line.in_direction.vector) for line in lines],
            dtype=np.int8,
        )
        self.in_count = np.zeros(len(lines), dtype=np.int64)
        self.out_count = np.zeros(len(lines), dtype=np.int64)
        self._sides: dict[int, Sides] = {}
        """Last definite side (+1, -1, 0 unknown) of each line, per track."""

    def update(self, scene: Scene) -> list[VideoObservation]:
        for track_id in scene.lost:
            self._sides.pop(track_id, None)
        lines = self.camera.lines
        if not lines or not len(scene.tracks):
            return []
        current = self._current_sides(scene)
        ids = scene.tracks.ids.tolist()
        unknown = np.zeros(len(lines), dtype=np.int8)
        previous = np.stack([self._sides.get(track_id, unknown) for track_id in ids])
        flipped = (previous != 0) & (current != 0) & (previous != current)
        remembered = np.where(current != 0, current, previous)
        for column, track_id in enumerate(ids):
            self._sides[track_id] = remembered[column]
        events = []
        for column, line_index in np.argwhere(flipped).tolist():
            inward = current[column, line_index] == self.in_side[line_index]
            if inward:
                self.in_count[line_index] += 1
            else:
                self.out_count[line_index] += 1
            line = lines[line_index]
            direction = "in" if inward else "out"
            subject = scene.subject(column)
            details = Details(
                zone=line,
                subject=subject,
                direction=direction,
                message=f"Track {subject.track_id} crossed {line.name or line.id} going {direction}",
            )
            events.append(self.event(scene, Activity.LINE_CROSSING, details))
        return events

    def footfall(self) -> list[Footfall]:
        return [
            Footfall(line.id, int(self.in_count[i]), int(self.out_count[i]))
            for i, line in enumerate(self.camera.lines)
        ]

    def _current_sides(self, scene: Scene) -> Sides:
        """(n, lines): +1 left of the line, -1 right, 0 in the dead band or past its ends."""
        columns = []
        for line in self.camera.lines:
            distance, position = signed_distances(scene.tracks.anchors, line.start, line.end)
            side = np.sign(distance) * (np.abs(distance) > line.margin_px)
            side[(position < 0) | (position > 1)] = 0
            columns.append(side)
        return np.stack(columns, axis=1).astype(np.int8)


def _in_side(
    start: tuple[float, float], end: tuple[float, float], towards: tuple[float, float]
) -> int:
    """The side (+1 left, -1 right, as `signed_distances`) that `towards` points to."""
    ax, ay = end[0] - start[0], end[1] - start[1]
    return 1 if ax * towards[1] - ay * towards[0] > 0 else -1
