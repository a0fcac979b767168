"""Snapshots kept at the store: a blurred JPEG per notable event, pruned after a retention period.

    store = SnapshotStore(SnapshotConfig(folder=Path("/var/lib/vigil/snapshots")))
    uri = store.save(request, people)   # file:///var/lib/vigil/snapshots/cam-04/2026-03-04/...

Video stays at the store (DESIGN.md): the event that leaves carries only the
snapshot's URI. Files are laid out `<camera>/<UTC day>/<HHMMSSmmm>-<activity>-<track>.jpg`,
so age is read from the path (the event's time, not the file's), and a replay of old
footage is pruned by when it was filmed. Heads are blurred before anything is written.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from vigil.video.behaviours import SnapshotHook, SnapshotRequest
from vigil.video.errors import VideoError
from vigil.video.privacy import Boxes, Privacy

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{9})-[a-z_]+-[\w]+\.jpg$")
PRUNE_EVERY = timedelta(hours=1)
SUBJECT_COLOUR = (0, 0, 255)


class SnapshotError(VideoError):
    """A snapshot that cannot be written, or a snapshot folder that cannot be used."""


class SnapshotConfig(BaseModel):
    """Where snapshots are kept and for how long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    folder: Path = Field(description="Folder at the store that holds the snapshots.")
    retention_days: float = Field(
        default=30.0, gt=0, description="Snapshots older than this (by event time) are deleted."
    )
    jpeg_quality: int = Field(default=85, ge=10, le=100, description="JPEG quality, 10-100.")


class SnapshotStore:
    """Writes blurred snapshots and deletes them once they are older than the retention."""

    def __init__(
        self,
        config: SnapshotConfig,
        privacy: Privacy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.config = config
        self.privacy = privacy or Privacy()
        self.clock = clock
        self.retention = timedelta(days=config.retention_days)
        self._pruned_at: datetime | None = None
        self.saved = 0

    def save(self, request: SnapshotRequest, people: Boxes) -> str | None:
        """Write one snapshot (heads of `people` and the subject blurred); its `file:` URI.

        None, and nothing written, for an event already older than the retention.
        """
        if request.time < self.clock() - self.retention:
            return None
        boxes = np.asarray(people, dtype=np.float64).reshape(-1, 4)
        if request.box is not None:
            boxes = np.vstack([boxes, np.asarray(request.box, dtype=np.float64)[None]])
        image = self.privacy.apply(request.image, boxes)
        if request.box is not None:
            x0, y0, x1, y1 = (round(value) for value in request.box)
            cv2.rectangle(image, (x0, y0), (x1, y1), SUBJECT_COLOUR, 2)
        path = self.path_for(request)
        ok, encoded = cv2.imencode(
            ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        )
        if not ok:
            raise SnapshotError(f"OpenCV could not encode the snapshot for {path.name}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(encoded.tobytes())
        except OSError as error:
            raise SnapshotError(f"cannot write snapshot {path}: {error.strerror}") from error
        self.saved += 1
        self._maybe_prune()
        return path.resolve().as_uri()

    def hook(self, people: Callable[[], Boxes]) -> SnapshotHook:
        """The engine's snapshot hook; `people` gives the boxes to blur in the current frame."""

        def save(request: SnapshotRequest) -> str | None:
            try:
                return self.save(request, people())
            except SnapshotError as error:  # an event without its picture beats no event
                logger.warning("snapshot not kept: %s", error)
                return None

        return save

    def path_for(self, request: SnapshotRequest) -> Path:
        moment = request.time.astimezone(UTC)
        track = "none" if request.track_id is None else str(request.track_id)
        name = f"{moment:%H%M%S}{moment.microsecond // 1000:03d}-{request.activity.name.lower()}"
        return (
            self.config.folder / request.camera_uid / f"{moment:%Y-%m-%d}" / f"{name}-{track}.jpg"
        )

    def prune(self, now: datetime | None = None) -> int:
        """Delete snapshots taken before `now` minus the retention; how many were deleted."""
        moment = (now or self.clock()).astimezone(UTC)
        cutoff = moment - self.retention
        removed = 0
        if not self.config.folder.is_dir():
            return 0
        for day in sorted(self.config.folder.glob("*/????-??-??")):
            for path in day.glob("*.jpg"):
                taken = _taken(day.name, path.name)
                if taken is not None and taken < cutoff:
                    path.unlink(missing_ok=True)
                    removed += 1
            if day.is_dir() and not any(day.iterdir()):
                day.rmdir()
        self._pruned_at = moment
        if removed:
            logger.info("pruned %d snapshots taken before %s", removed, cutoff.isoformat())
        return removed

    def _maybe_prune(self) -> None:
        now = self.clock()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self.prune(now)


def _taken(day: str, name: str) -> datetime | None:
    """When a snapshot was taken, from its day folder and file name; None if not ours."""
    match = _NAME.match(name)
    if match is None:
        return None
    try:
        moment = datetime.strptime(f"{day} {match.group(1)[:6]}", "%Y-%m-%d %H%M%S")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)[6:]))
