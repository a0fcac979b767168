"""Who is in which zone, with a grace period so that a flickering box is one visit.

A visit opens on the first frame a track's anchor is in a zone and closes once
the track has been out of it (or unseen) for longer than the camera's exit
grace; its end is the last frame it was in. State is a small dict per open visit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vigil.video.behaviours.types import Tracks, Visit


@dataclass(frozen=True)
class PresenceState:
    """What changed on one frame; the arrays are (zones, n) like `Scene`'s."""

    inside: npt.NDArray[np.bool_]
    since_ms: npt.NDArray[np.int64]
    entered: npt.NDArray[np.bool_]
    occupancy: npt.NDArray[np.int64]
    exited: tuple[Visit, ...]
    lost: tuple[int, ...]


class Presence:
    """Open visits per (zone, track) and when each track was last seen."""

    def __init__(self, zone_count: int, grace_ms: int) -> None:
        self.zone_count = zone_count
        self.grace_ms = grace_ms
        self._open: dict[tuple[int, int], Visit] = {}
        self._last_seen: dict[int, int] = {}

    def update(self, ms: int, tracks: Tracks, raw: npt.NDArray[np.bool_]) -> PresenceState:
        """Fold one frame's membership (zones, n) into the open visits."""
        shape = (self.zone_count, len(tracks))
        entered = np.zeros(shape, dtype=bool)
        for zone, column in np.argwhere(raw):
            key = (int(zone), int(tracks.ids[column]))
            visit = self._open.get(key)
            if visit is None:
                self._open[key] = Visit(key[0], key[1], ms, ms, tracks.subject(int(column)))
                entered[zone, column] = True
            else:
                visit.last_ms = ms
                visit.subject = tracks.subject(int(column))
        exited = [v for v in self._open.values() if ms - v.last_ms > self.grace_ms]
        for visit in exited:
            del self._open[(visit.zone, visit.track_id)]
        for track_id in tracks.ids.tolist():
            self._last_seen[track_id] = ms
        lost = [t for t, seen in self._last_seen.items() if ms - seen > self.grace_ms]
        for track_id in lost:
            del self._last_seen[track_id]
        inside, since = self._matrix(tracks)
        return PresenceState(inside, since, entered, self._occupancy(), tuple(exited), tuple(lost))

    def flush(self) -> PresenceState:
        """End every visit and every track: the stream has stopped."""
        exited = tuple(self._open.values())
        lost = tuple(self._last_seen)
        self._open.clear()
        self._last_seen.clear()
        empty = np.zeros((self.zone_count, 0), dtype=bool)
        since = np.zeros(empty.shape, np.int64)
        return PresenceState(empty, since, empty, self._occupancy(), exited, lost)

    def _occupancy(self) -> npt.NDArray[np.int64]:
        """Open visits per zone, including tracks unseen for less than the grace."""
        zones = np.fromiter((zone for zone, _ in self._open), dtype=np.int64, count=len(self._open))
        return np.bincount(zones, minlength=self.zone_count).astype(np.int64)

    def _matrix(self, tracks: Tracks) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
        columns = {track_id: c for c, track_id in enumerate(tracks.ids.tolist())}
        since = np.full((self.zone_count, len(tracks)), -1, dtype=np.int64)
        for (zone, track_id), visit in self._open.items():
            column = columns.get(track_id)
            if column is not None:
                since[zone, column] = visit.entered_ms
        return since >= 0, since
