"""Linking video to incidents and serving the snapshots the stores keep.

An incident's video is the video observations of its stores (those in the reader's
scope) from 15 minutes before its first evidence to 15 minutes after its last,
observations with a snapshot first, then those of cameras covering the zone of one
of its devices (the till's checkout camera), then by time.

Snapshots are the blurred JPEGs the video stage writes (`vigil.video.snapshots`:
heads blurred before anything is written), laid out
`<camera>/<UTC day>/<HHMMSSmmm>-<activity>-<track>.jpg` under the store's snapshot
folder. The URI an event carries is the store's path; the hub keeps (syncs, mounts)
the stores' folders under its own snapshot folders, so a snapshot is found there by
that layout, whatever folder the store wrote it to (camera uids are unique across
the estate). An event's `snapshot_uri` is data from the store, so a file is served
only when all of these hold: its path has the layout under one of the console's
snapshot folders (nothing else on disk can be named), the reader's scope covers
the store, and a video observation of that store and camera in the lake names a
snapshot with that camera, day and name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

import pyarrow.parquet as pq

from vigil.console.auth.types import Scope
from vigil.console.errors import NotFoundError
from vigil.console.lakeread import query
from vigil.console.state import Console
from vigil.console.video.types import SnapshotKey, VideoRef
from vigil.correlate.codec import utc
from vigil.correlate.types import Incident
from vigil.estate import Estate
from vigil.events.retail import VideoObservation

PAD = timedelta(minutes=15)
"""Observations this long before the first and after the last evidence still belong."""
LIMIT = 24
CAMERA = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME = re.compile(r"^\d{9}-[a-z_]+-\w+\.jpg$")
"""A snapshot's file name as `vigil.video.snapshots.SnapshotStore.path_for` writes it."""
COLUMNS = (
    "store.uid",
    "camera.uid",
    "time",
    "activity_name",
    "zone.name",
    "snapshot_uri",
    "clip_uri",
)


def snapshot_folders(console: Console) -> tuple[Path, ...]:
    """The folders snapshots are served from: the settings' list, else `<data>/snapshots`."""
    settings = console.settings
    return tuple(settings.snapshot_folders) or (settings.data / "snapshots",)


def snapshot_key(store: str, camera: str, uri: str | None) -> SnapshotKey | None:
    """The key of a snapshot `file:` URI with the video stage's layout for this camera."""
    if not uri or not uri.startswith("file:"):
        return None
    parts = PurePosixPath(unquote(urlparse(uri).path)).parts[-3:]
    if len(parts) != 3 or parts[0] != camera or not _valid(*parts):
        return None
    return SnapshotKey(store, *parts)


def _valid(camera: str, day: str, name: str) -> bool:
    return bool(CAMERA.match(camera) and DAY.match(day) and NAME.match(name))


def incident_video(console: Console, scope: Scope, incident: Incident) -> tuple[VideoRef, ...]:
    """The observations linked to `incident` that the reader may see, best first."""
    stores = sorted(store for store in incident.stores if scope.covers(store))
    since, until = incident.first_seen - PAD, incident.last_seen + PAD
    files = console.lake.partition_files(VideoObservation, _days(since, until), stores)
    if not stores or not files:
        return ()
    held = _held(files)
    if "camera.uid" not in held:
        return ()
    near = _near_cameras(console.estate, incident)
    sql = (
        f"SELECT {_select(held)} FROM {_source(console.lake.root, files)} "  # noqa: S608
        f'WHERE "time" >= ? AND "time" <= ? AND "store.uid" IN ({", ".join("?" * len(stores))}) '
        'AND "camera.uid" IS NOT NULL '
        'ORDER BY snapshot_uri IS NULL, NOT list_contains(?, "camera.uid"), "time" LIMIT ?'
    )
    with console.shared_lake.cursor() as connection:
        rows = query(connection, sql, [since, until, *stores, sorted(near), LIMIT]).to_pylist()
    folders = snapshot_folders(console)
    found = []
    for row in rows:
        store, camera, uri = str(row["store.uid"]), str(row["camera.uid"]), row["snapshot_uri"]
        key = snapshot_key(store, camera, uri)
        served = key is not None and any((f / key.relative()).is_file() for f in folders)
        found.append(
            VideoRef(
                store=store,
                camera=camera,
                time=utc(row["time"]),
                activity=row["activity_name"],
                zone=row["zone.name"],
                snapshot_uri=uri,
                clip_uri=row["clip_uri"],
                snapshot_path=key.api_path() if key is not None and served else None,
            )
        )
    return tuple(found)


def snapshot_file(console: Console, scope: Scope, key: SnapshotKey) -> Path:
    """The snapshot file `key` names, if the reader may see it (404 otherwise, whatever
    the reason, so that nothing can be learned about files outside the scope)."""
    missing = NotFoundError("no such snapshot")
    estate = console.estate
    known = estate is not None and any(store.uid == key.store for store in estate.stores)
    if not known or not scope.covers(key.store) or not _valid(key.camera, key.day, key.name):
        raise missing
    for folder in snapshot_folders(console):
        root = folder.resolve()
        path = (root / key.relative()).resolve()
        if path.is_relative_to(root) and path.is_file() and _observed(console, key):
            return path
    raise missing


def _observed(console: Console, key: SnapshotKey) -> bool:
    """Whether a video observation of the key's store and camera, that day, names a
    snapshot with the key's camera, day and name (wherever the store kept it)."""
    day = date.fromisoformat(key.day)
    files = console.lake.partition_files(VideoObservation, [day], [key.store])
    if not files or "snapshot_uri" not in _held(files):
        return False
    sql = (
        f"SELECT 1 FROM {_source(console.lake.root, files)} "  # noqa: S608
        'WHERE "store.uid" = ? AND "camera.uid" = ? AND starts_with(snapshot_uri, \'file:\') '
        "AND ends_with(snapshot_uri, ?) LIMIT 1"
    )
    suffix = "/" + key.relative().as_posix()
    with console.shared_lake.cursor() as connection:
        table = query(connection, sql, [key.store, key.camera, suffix])
    return bool(table.num_rows > 0)


def _near_cameras(estate: Estate | None, incident: Incident) -> set[str]:
    """Cameras of the incident's stores that cover the zone of one of its devices."""
    if estate is None:
        return set()
    devices = {entity.value for entity in incident.entities if entity.kind == "device"}
    cameras: set[str] = set()
    for store in estate.stores:
        if store.uid not in incident.stores:
            continue
        zones = {a.zone for a in store.assets if a.uid in devices and a.zone}
        cameras |= {a.uid for a in store.assets if a.kind == "camera" and a.zone in zones}
    return cameras


def _days(since: datetime, until: datetime) -> list[date]:
    first, last = since.astimezone(UTC).date(), until.astimezone(UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _held(files: Sequence[Path]) -> set[str]:
    held: set[str] = set()
    for path in files:
        held.update(pq.read_schema(path).names)
    return held


def _select(held: set[str]) -> str:
    """The wanted columns, NULL for those no file holds (a file leaves out all-null columns)."""
    return ", ".join(
        f'"{column}"' if column in held else f'NULL AS "{column}"' for column in COLUMNS
    )


def _source(root: Path, files: Sequence[Path]) -> str:
    """`read_parquet` over these files, named under the lake's resolved root (the only
    folder the lake connection may read)."""
    resolved = root.resolve()
    listed = ", ".join(
        "'" + str(resolved / path.relative_to(root)).replace("'", "''") + "'" for path in files
    )
    return f"read_parquet([{listed}], union_by_name = true)"
