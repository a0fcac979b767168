"""Video observations as the console links them to incidents and serves their snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class VideoRef:
    """A video observation of an incident's store and hours: which camera saw what, when,
    the snapshot and clip URIs as the store wrote them, and the console path of the
    snapshot when the console can serve it (a file the store's snapshot folder holds)."""

    store: str
    camera: str
    time: datetime
    activity: str | None
    zone: str | None
    snapshot_uri: str | None
    clip_uri: str | None
    snapshot_path: str | None


@dataclass(frozen=True)
class SnapshotKey:
    """Where a snapshot lies under a snapshot folder (`<camera>/<UTC day>/<name>.jpg`, the
    video stage's layout) and the store whose observation names it."""

    store: str
    camera: str
    day: str
    name: str

    def relative(self) -> Path:
        return Path(self.camera) / self.day / self.name

    def api_path(self) -> str:
        parts = (self.store, "snapshots", self.camera, self.day, self.name)
        return "/api/stores/" + "/".join(quote(part, safe="") for part in parts)
