"""Evidence bundles: an incident exported as files an auditor can check, with chain of custody.

A bundle is a folder:

- `incident.json`: the incident (risk parts, notes, metrics, entities);
- `alerts.json`: the stored OCSF Detection Findings of its alerts;
- `timeline.csv`, `graph.json`: the forensic timeline and the entity graph;
- `events/<class>.csv`: the related raw events, per event class;
- `manifest.json`: SHA-256 and size of every file above;
- `custody.json`: who exported it, when, from which host and data, the
  manifest's SHA-256 and the hash of the audit log entry that records the export.

The folder is written under a temporary name and renamed when complete, so a
half-written bundle never looks finished. `verify_bundle` recomputes every
hash; a changed, missing or added file, or a changed manifest, is reported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import socket
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import select

from vigil import __version__
from vigil.correlate.codec import incident_record, iso
from vigil.correlate.errors import BundleError, BundleTamperedError
from vigil.correlate.timeline import ClassEvents
from vigil.correlate.types import Incident, Timeline
from vigil.store.database import Database
from vigil.store.models import AuditEntry

MANIFEST = "manifest.json"
CUSTODY = "custody.json"


@dataclass(frozen=True)
class BundleFile:
    path: str
    """Relative to the bundle, with forward slashes."""
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Custody:
    """Who exported the bundle, when, from where; what its manifest hashes to."""

    incident_uid: str
    exported_by: str
    exported_at: str
    host: str
    source: str
    """The data the bundle came from (the data folder), never a password."""
    tool: str
    manifest_sha256: str
    audit_hash: str | None
    """Hash of the audit log entry recording the export (None without a database)."""


@dataclass(frozen=True)
class Bundle:
    directory: Path
    files: tuple[BundleFile, ...]
    custody: Custody


def export_bundle(
    incident: Incident,
    timeline: Timeline,
    events: Sequence[ClassEvents],
    directory: Path,
    *,
    actor: str,
    source: str,
    findings: Sequence[Mapping[str, object]] = (),
    database: Database | None = None,
    host: str | None = None,
) -> Bundle:
    """Write the bundle into `directory` (which must not exist or be empty)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise BundleError(f"{directory} exists and is not an empty folder: refusing to overwrite")
    partial = directory.with_name(f".{directory.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        files = _write_files(partial, incident, timeline, events, findings)
        manifest = _json(
            {"incident": incident.uid, "algorithm": "sha256", "files": [asdict(f) for f in files]}
        )
        (partial / MANIFEST).write_bytes(manifest)
        manifest_hash = hashlib.sha256(manifest).hexdigest()
        where = host or socket.gethostname()
        audit_hash = None
        if database is not None:
            entry = database.audit(
                actor,
                "incident.export",
                incident.uid,
                {
                    "bundle": str(directory),
                    "host": where,
                    "manifest_sha256": manifest_hash,
                    "files": len(files),
                },
            )
            audit_hash = entry.hash
        custody = Custody(
            incident_uid=incident.uid,
            exported_by=actor,
            exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
            host=where,
            source=source,
            tool=f"vigil {__version__}",
            manifest_sha256=manifest_hash,
            audit_hash=audit_hash,
        )
        (partial / CUSTODY).write_bytes(_json(asdict(custody)))
        if directory.exists():
            directory.rmdir()
        partial.rename(directory)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise BundleError(f"cannot write the bundle to {directory}: {error}") from error
    return Bundle(directory, files, custody)


def _write_files(
    folder: Path,
    incident: Incident,
    timeline: Timeline,
    events: Sequence[ClassEvents],
    findings: Sequence[Mapping[str, object]],
) -> tuple[BundleFile, ...]:
    (folder / "events").mkdir(parents=True)
    record = incident_record(incident)
    record["timeline"] = {
        "events_total": timeline.events_total,
        "events_shown": timeline.events_shown,
    }
    contents = {
        "incident.json": _json(record),
        "alerts.json": _json(list(findings) if findings else record["alerts"]),
        "timeline.csv": _timeline_csv(timeline),
        "graph.json": _json(
            {
                "nodes": [asdict(n) for n in timeline.graph.nodes],
                "edges": [asdict(e) for e in timeline.graph.edges],
            }
        ),
    }
    for group in events:
        buffer = io.BytesIO()
        pacsv.write_csv(_flat(group.table), buffer)
        contents[f"events/{group.event_class}.csv"] = buffer.getvalue()
    files = []
    for name, data in sorted(contents.items()):
        (folder / name).write_bytes(data)
        files.append(BundleFile(name, hashlib.sha256(data).hexdigest(), len(data)))
    return tuple(files)


def _flat(table: pa.Table) -> pa.Table:
    """Nested columns (a sale's tenders and line items) as one JSON text per cell, for CSV."""
    for index, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            cells = [
                None if value is None else json.dumps(_compact(value), sort_keys=True, default=str)
                for value in table.column(index).to_pylist()
            ]
            table = table.set_column(index, field.name, pa.array(cells, pa.string()))
    return table


def _compact(value: object) -> object:
    """Without its empty fields, as OCSF JSON leaves them out."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value


def _timeline_csv(timeline: Timeline) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["time", "kind", "source", "store", "summary", "ref"])
    for entry in timeline.entries:
        writer.writerow(
            [
                iso(entry.time),
                entry.kind.value,
                entry.source,
                entry.store or "",
                entry.summary,
                entry.ref,
            ]
        )
    return buffer.getvalue().encode()


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode()


def verify_bundle(directory: Path, database: Database | None = None) -> Bundle:
    """Recompute every hash; raise `BundleTamperedError` listing each problem found."""
    try:
        manifest_bytes = (directory / MANIFEST).read_bytes()
        manifest = json.loads(manifest_bytes)
        custody = Custody(**json.loads((directory / CUSTODY).read_text(encoding="utf-8")))
        files = tuple(BundleFile(**item) for item in manifest["files"])
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise BundleError(f"{directory} is not a readable evidence bundle: {error}") from error
    problems = []
    if hashlib.sha256(manifest_bytes).hexdigest() != custody.manifest_sha256:
        problems.append(f"{MANIFEST}: does not match the hash in {CUSTODY}")
    listed = {item.path for item in files}
    for item in files:
        path = directory / item.path
        if not path.is_file():
            problems.append(f"{item.path}: missing")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != item.sha256:
            problems.append(f"{item.path}: changed since export (SHA-256 differs)")
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and name not in listed and name not in (MANIFEST, CUSTODY):
            problems.append(f"{name}: not in the manifest")
    if database is not None:
        problems += _audit_problems(database, custody)
    if problems:
        raise BundleTamperedError(problems)
    return Bundle(directory, files, custody)


def _audit_problems(database: Database, custody: Custody) -> list[str]:
    """The export must be in the audit log, with this manifest's hash."""
    if custody.audit_hash is None:
        return [f"{CUSTODY}: names no audit log entry"]
    with database.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.hash == custody.audit_hash)
        ).first()
    if entry is None:
        return [f"{CUSTODY}: its audit log entry {custody.audit_hash[:12]} is not in the log"]
    if (
        entry.detail.get("manifest_sha256") != custody.manifest_sha256
        or entry.target != custody.incident_uid
    ):
        return [f"{CUSTODY}: the audit log records another export"]
    return []
