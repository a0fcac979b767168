"""A console data folder built through the real pipeline, and helpers to drive the console API.

`template(tmp_path_factory, cache)` builds the folder `vigil init` would make, then
fills it the way the product does:

1. the sample estate and the sample telemetry (`vigil/events/samples`), ingested with
   enrichment, plus a few video line crossings at store 031 (`FOOTFALL`) and one
   malformed file, so there is footfall and there are dead letters; and a few video
   observations with blurred snapshots (`SNAPSHOTS`, written by the video stage's
   `SnapshotStore` under `snapshots/`) near incidents of stores 031 and 112;
2. the retail detection pack replayed over the lake (as `vigil demo` does), its alerts
   stored, plus a few alerts made inline so every store has incidents;
3. the alerts correlated into incidents (`correlate_stored`);
4. the pos-malware playbook started by `ana` on two incidents of store 031 in
   assisted mode, so two approvals are pending (expiring 30 minutes after `NOW`);
5. console accounts, one per role and scope (see `USERS`), all with `PASSWORD`.

The build takes a while (the pack replay), so the folder is kept in pytest's cache
under a hash of everything the build reads (`fingerprint`): any change to Vigil's
code, the samples, the pack or the pipeline's libraries builds it afresh.

Tests copy it (`copy_of`) and serve the copy with `settings_for`: a clock fixed at
`NOW`, plain-http cookies, and a recording response backend (nothing leaves the test).
The screens and end-to-end tests reuse this module; keep it free of test assertions.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import metadata, resources
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from vigil.config import CONFIG_FILE, default_config_text, load_settings
from vigil.console import ConsoleSettings
from vigil.console.auth.passwords import HashCost, Passwords
from vigil.console.auth.types import Role
from vigil.console.state import Console
from vigil.correlate import service
from vigil.detect.engine import Engine
from vigil.detect.loader import load_pack
from vigil.detect.sink import store_alerts
from vigil.detect.types import Alert, RuleMeta, Severity
from vigil.estate import load_estate, sample_estate_text
from vigil.eval.replay import replay
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.respond.approvals import ApprovalStatus
from vigil.respond.backends import Backends
from vigil.respond.playbooks import load_playbooks
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.runtime import Runtime
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import ResponseSettings, load_response_settings
from vigil.respond.store import ResponseStore
from vigil.store.database import Database
from vigil.store.lake import Lake
from vigil.store.models import ConsoleUser, DeadLetter, IngestSource
from vigil.video.behaviours.types import Activity, SnapshotRequest
from vigil.video.snapshots import SnapshotConfig, SnapshotStore

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "vigil"
LIBRARIES = ("duckdb", "polars", "pyarrow", "pysigma", "sqlalchemy", "alembic", "pydantic")
NOW = datetime(2026, 11, 21, 4, 5, tzinfo=UTC)
"""The console's clock in tests: minutes after the newest telemetry of stores 031 and 044."""
TEST_COST = HashCost(time_cost=1, memory_kib=8192, parallelism=1)
"""argon2id at a test's cost (the product's default costs a second a hash on a busy machine)."""
PASSWORD = "correct horse battery staple"
"""Every fixture account's password (test data only)."""
REQUESTER = "ana"
"""Started the playbook runs (an approver of 031, so separation of duties is what stops her)."""
IN_STORE = "031"
"""The store the in-scope accounts cover (west region); the approvals are for it."""
OUT_REGION = "central"
"""The region the out-of-scope accounts cover (stores 112 and 127)."""

ROLES = ("viewer", "analyst", "approver", "admin")
USERS: dict[str, tuple[Role, tuple[str, ...]]] = {
    **{f"{role}-in": (Role(role), (IN_STORE,)) for role in ROLES if role != "admin"},
    "admin-in": (Role.ADMIN, ("*",)),
    **{f"{role}-out": (Role(role), (f"region:{OUT_REGION}",)) for role in ROLES},
    REQUESTER: (Role.APPROVER, (IN_STORE,)),
}
"""Account name -> role and scope: `<role>-in` sees store 031, `<role>-out` only the central
region; `admin-in` sees every store."""


@dataclass(frozen=True)
class ExtraAlert:
    """An alert made inline, worded as the rule pack words its own."""

    rule: str
    title: str
    time: datetime
    entities: dict[str, str]
    severity: str
    use_case: str
    explanation: str


EXTRA_ALERTS = (
    ExtraAlert(
        "vigil.pos.new_destination", "POS terminal contacted an address no till has used",
        datetime(2026, 11, 20, 23, 40, tzinfo=UTC),
        {"store": "031", "device": "s031-pos-02", "ip": "198.51.100.7"}, "critical", "pos_malware",
        "Terminal s031-pos-02 opened 14 connections to 198.51.100.7, an address no till in the "
        "estate has contacted before.",
    ),
    ExtraAlert(
        "vigil.iot.c2_beacon", "Camera calling out at a steady beat",
        datetime(2026, 11, 21, 1, 10, tzinfo=UTC),
        {"store": "044", "device": "s044-cam-02", "ip": "192.0.2.44"}, "high", "iot_botnet",
        "Camera s044-cam-02 reached 192.0.2.44 every 60 s for 40 minutes, a command-and-control "
        "rhythm.",
    ),
    ExtraAlert(
        "vigil.pos.refund_burst", "Burst of refunds by one cashier",
        datetime(2026, 11, 20, 19, 25, tzinfo=UTC),
        {"store": "127", "cashier": "c-127-7"}, "medium", "refund_fraud",
        "Cashier c-127-7 keyed 9 refunds in 12 minutes, 6 of them without a receipt.",
    ),
    ExtraAlert(
        "vigil.wifi.scan", "Guest Wi-Fi client sweeping addresses",
        datetime(2026, 11, 20, 17, 50, tzinfo=UTC),
        {"store": "112", "mac": "02:aa:bb:cc:dd:ee"}, "low", "guest_wifi_scan",
        "Guest client 02:aa:bb:cc:dd:ee probed 212 addresses of the store network in 3 minutes.",
    ),
    ExtraAlert(
        "vigil.door.forced", "Rear door forced outside trading hours",
        datetime(2026, 11, 21, 3, 20, tzinfo=UTC),
        {"store": "044", "door": "s044-door-rear"}, "high", "insider_after_hours",
        "Door s044-door-rear opened without a badge at 22:20 local time, after closing.",
    ),
)  # fmt: skip
"""Alerts made inline so every store has incidents: before `NOW`, worded like real ones."""


def fixture_alert(extra: ExtraAlert) -> Alert:
    """The alert a rule would have stored for `extra` (evidence rows aside)."""
    meta = RuleMeta(
        uid=extra.rule,
        title=extra.title,
        severity=Severity[extra.severity.upper()],
        confidence=80,
        explanation=extra.explanation,
        use_case=extra.use_case,
        attack=(),
    )
    return Alert(
        rule=meta,
        time=extra.time,
        first_seen=extra.time - timedelta(minutes=5),
        entities=dict(extra.entities),
        values={},
        evidence=pl.DataFrame(),
        score=0.8,
        explanation=extra.explanation,
    )


@dataclass(frozen=True)
class ConsoleData:
    """A built data folder and what is in it."""

    folder: Path
    incidents: dict[str, list[str]]
    """Store uid ('' for estate-wide) -> incident uids, highest risk first."""
    approvals: tuple[str, ...]
    """Pending approval uids (store 031), oldest first."""

    def incident_of(self, store: str) -> str:
        return self.incidents[store][0]


def recording_backends(_settings: ResponseSettings) -> Backends:
    """Response adapters that only record (the console's `backends` seam in tests)."""
    return RecordingBackend().backends(gateways=["default"], channels=["soc", "lp", "escalation"])


def settings_for(folder: Path, **changes: object) -> ConsoleSettings:
    """Settings of a test console over `folder`: clock at NOW, http cookies, recording adapters."""
    base: dict[str, object] = {
        "data": folder,
        "allow_http": True,
        "clock": lambda: NOW,
        "backends": recording_backends,
        "password_cost": TEST_COST,
    }
    base.update(changes)
    return ConsoleSettings(**base)  # type: ignore[arg-type]


def _ingest(folder: Path, database: Database, lake: Lake) -> None:
    estate = load_estate(folder / "estate.yaml")
    ingestor = Ingestor(lake, database, Enricher(estate))
    sample = resources.files("vigil.events").joinpath("samples/sample_events.ndjson")
    with resources.as_file(sample) as path:
        import_path(path, ingestor, "ocsf_json")
    broken = folder / "incoming" / "broken.ndjson"
    broken.parent.mkdir()
    broken.write_text('{"class_uid": 4001, "time": "not a time"}\nthis is not JSON\n')
    import_path(broken, ingestor, "ocsf_json")
    video = folder / "incoming" / "video.ndjson"
    observed = [*_line_crossings(), *_snapshot_observations(folder / "snapshots")]
    video.write_text("".join(json.dumps(event) + "\n" for event in observed))
    import_path(video, ingestor, "ocsf_json")
    with database.session() as session:  # ingested now by the wall clock; as of `NOW` here
        session.execute(
            update(IngestSource).values(
                first_at=NOW - timedelta(hours=6), last_at=NOW - timedelta(minutes=3)
            )
        )
        session.execute(update(DeadLetter).values(at=NOW - timedelta(minutes=3)))


FOOTFALL = (
    ("02:10", "in"),
    ("02:20", "in"),
    ("02:40", "in"),
    ("03:15", "in"),
    ("03:20", "out"),
    ("03:30", "out"),
)
"""Line crossings at store 031's entrance camera on 21 Nov (UTC): the store view's footfall."""


def _line_crossings() -> list[dict[str, object]]:
    """Video analytics events (OCSF JSON, Vigil's video_observation) of people crossing the
    entrance line of store 031, with where they stood in the frame."""
    events = []
    for number, (clock, direction) in enumerate(FOOTFALL):
        moment = datetime.fromisoformat(f"2026-11-21T{clock}:00+00:00")
        events.append(
            {
                "activity_id": 4,
                "activity_name": "Line Crossing",
                "category_uid": 6,
                "class_uid": 8606002,
                "class_name": "Video Observation",
                "type_uid": 860600204,
                "severity_id": 1,
                "time": int(moment.timestamp() * 1000),
                "metadata": {
                    "version": "1.8.0",
                    "product": {"name": "vigil-video", "vendor_name": "Vigil"},
                },
                "store": {"uid": IN_STORE, "name": "Portland Pearl", "region_uid": "west"},
                "camera": {"type_id": 7, "uid": "s031-cam-01", "name": "Camera 1 (entrance)"},
                "zone": {"uid": "door-line", "name": "Entrance line", "type": "line"},
                "track_uid": f"t-{number}",
                "object_class": "person",
                "direction": direction,
                "bbox": {"x": 100.0 * number, "y": 200.0, "width": 80.0, "height": 240.0},
            }
        )
    return events


SNAPSHOTS = (
    ("031", "s031-cam-04", "2026-11-20T11:01:00", Activity.LOITERING, "checkout"),
    ("031", "s031-cam-02", "2026-11-20T11:06:00", Activity.DWELL, "floor-apparel"),
    ("031", "s031-cam-04", "2026-11-20T23:38:00", Activity.LOITERING, "checkout"),
    ("112", "s112-cam-01", "2026-11-20T17:48:00", Activity.LOITERING, "entrance"),
)
"""Video observations with a snapshot (store, camera, UTC time, activity, zone), each a few
minutes from an incident of its store: 031's tills are in the checkout zone (camera 4)."""


def _snapshot_observations(folder: Path) -> list[dict[str, object]]:
    """The `SNAPSHOTS` as video_observation events (OCSF JSON), their JPEGs written by the
    video stage's snapshot store (heads blurred) into `folder`, as a store's worker would."""
    snapshots = SnapshotStore(SnapshotConfig(folder=folder), clock=lambda: NOW)
    frame = np.full((240, 320, 3), 90, dtype=np.uint8)
    frame[120:, :] = (60, 110, 150)  # a floor, so the picture is not blank
    events: list[dict[str, object]] = []
    for number, (store, camera, clock, activity, zone) in enumerate(SNAPSHOTS):
        moment = datetime.fromisoformat(f"{clock}+00:00")
        box = (120.0, 60.0, 180.0, 220.0)
        request = SnapshotRequest(moment, camera, activity, frame, zone, number, box)
        events.append(
            {
                "activity_id": activity.value,
                "category_uid": 6,
                "class_uid": 8606002,
                "type_uid": 860600200 + activity.value,
                "severity_id": 2,
                "time": int(moment.timestamp() * 1000),
                "metadata": {
                    "version": "1.8.0",
                    "product": {"name": "vigil-video", "vendor_name": "Vigil"},
                },
                "store": {"uid": store},
                "camera": {"type_id": 7, "uid": camera},
                "zone": {"uid": zone, "name": zone, "type": "area"},
                "track_uid": str(number),
                "object_class": "person",
                "bbox": {"x": box[0], "y": box[1], "width": 60.0, "height": 160.0},
                "snapshot_uri": snapshots.save(request, np.array([box])),
            }
        )
    return events


def snapshot_url(number: int) -> str:
    """The console's API path of the snapshot of `SNAPSHOTS[number]`."""
    store, camera, clock, activity, zone = SNAPSHOTS[number]
    moment = datetime.fromisoformat(f"{clock}+00:00")
    image = np.zeros((1, 1, 3), dtype=np.uint8)
    request = SnapshotRequest(moment, camera, activity, image, zone, number, None)
    path = SnapshotStore(SnapshotConfig(folder=Path("/"))).path_for(request)
    return f"/api/stores/{store}/snapshots/{'/'.join(path.parts[-3:])}"


def _detect_and_correlate(folder: Path, database: Database, lake: Lake) -> None:
    estate = load_estate(folder / "estate.yaml")
    result = replay(lake, Engine(load_pack(), estate))
    extra = [fixture_alert(alert) for alert in EXTRA_ALERTS]
    store_alerts(database, [*result.alerts, *extra])
    service.correlate_stored(database, estate)


def _start_playbooks(folder: Path, database: Database) -> None:
    estate = load_estate(folder / "estate.yaml")
    settings = load_response_settings(folder)
    runtime = Runtime(
        database,
        recording_backends(settings),
        settings.approvals,
        settings.modes,
        estate,
        clock=lambda: NOW,
    )
    responder = Responder(runtime, load_playbooks(settings.playbook_paths(folder)))
    for incident in service.list_incidents(database, limit=1000):
        if incident.stores == (IN_STORE,):
            responder.start(incident.uid, REQUESTER, "pos-malware")


def _add_users(database: Database) -> None:
    hashed = Passwords(TEST_COST).hash(PASSWORD)  # one hash for all
    with database.session() as session:
        for name, (role, scopes) in USERS.items():
            session.add(
                ConsoleUser(
                    username=name,
                    password_hash=hashed,
                    role=role.value,
                    scopes=list(scopes),
                    created_at=NOW,
                    created_by="fixture",
                    disabled=False,
                )
            )


def initialised(folder: Path) -> Path:
    """A folder as `vigil init` leaves it: configuration, sample estate, empty lake; no accounts."""
    folder.mkdir(parents=True)
    (folder / CONFIG_FILE).write_text(default_config_text(), encoding="utf-8")
    (folder / "estate.yaml").write_text(sample_estate_text(), encoding="utf-8")
    load_settings(folder).lake_path.mkdir()
    return folder


def empty_copy(factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of an initialised folder whose database is migrated already (no accounts)."""
    source = factory.getbasetemp() / "console-empty"
    if not (source / ".built").exists():
        shutil.rmtree(source, ignore_errors=True)
        Database.open(load_settings(initialised(source)).database_url).close()
        (source / ".built").write_text("ok\n")
    target = factory.mktemp(name) / "data"
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".built"))
    return target


def build(folder: Path) -> None:
    """Fill an empty folder as described in the module docstring."""
    settings = load_settings(initialised(folder))
    database = Database.open(settings.database_url)
    try:
        lake = Lake(settings.lake_path)
        _ingest(folder, database, lake)
        _detect_and_correlate(folder, database, lake)
        _start_playbooks(folder, database)
        _add_users(database)
    finally:
        database.close()


def describe(folder: Path) -> ConsoleData:
    """What a built folder holds: incidents per store, pending approvals."""
    console = Console(settings_for(folder))
    try:
        incidents: dict[str, list[str]] = {}
        for incident in service.list_incidents(console.database, limit=1000):
            key = incident.stores[0] if len(incident.stores) == 1 else ""
            incidents.setdefault(key, []).append(incident.uid)
        pending = ResponseStore(console.database).approvals(statuses=[ApprovalStatus.PENDING])
        return ConsoleData(folder, incidents, tuple(request.uid for request in pending))
    finally:
        console.close()


def _build_sources() -> list[Path]:
    """The files `build` can read: every file of each Vigil sub-package this module imported
    (code, rule and playbook packs, samples, migrations), the screens aside."""
    roots: set[Path] = set()
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file is None or not (name == "vigil" or name.startswith("vigil.")):
            continue
        parts = name.split(".")
        roots.add(
            PACKAGE / parts[1] if len(parts) > 1 and (PACKAGE / parts[1]).is_dir() else Path(file)
        )
    found = []
    for root in sorted(roots):
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        found += [
            path
            for path in paths
            if path.suffix in {".py", ".yaml", ".ndjson", ".csv", ".mako"}
            and "web" not in path.relative_to(PACKAGE).parts[:2]
        ]
    return found


def fingerprint() -> str:
    """A hash of everything `build` reads (see `_build_sources`), this module, and the versions of the libraries the pipeline runs on."""
    digest = hashlib.sha256()
    for path in [
        *_build_sources(),
        Path(__file__),
    ]:
        digest.update(str(path.relative_to(path.anchor)).encode())
        digest.update(path.read_bytes())
    for library in LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}".encode())
    return digest.hexdigest()[:20]


def template(factory: pytest.TempPathFactory, cache: pytest.Cache | None = None) -> Path:
    """The built folder: from pytest's cache when nothing `build` reads has changed since it
    was made there (see `fingerprint`), else built now (once per session) and cached."""
    if cache is None:
        folder = factory.getbasetemp() / "console-template"
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            build(folder)
            (folder / ".built").write_text("ok\n")
        return folder
    root = cache.mkdir("vigil-console-template")
    folder = root / fingerprint()
    if (folder / ".built").exists():
        return folder
    scratch = factory.mktemp("console-build") / "data"
    build(scratch)
    (scratch / ".built").write_text("ok\n")
    for stale in root.iterdir():
        if stale.name != folder.name:
            shutil.rmtree(stale, ignore_errors=True)
    with contextlib.suppress(OSError):  # another session may have cached it meanwhile
        shutil.move(scratch, folder)
    return folder if (folder / ".built").exists() else scratch


def copy_of(
    factory: pytest.TempPathFactory, name: str, cache: pytest.Cache | None = None
) -> ConsoleData:
    """A private copy of the built folder, for tests that change things."""
    target = factory.mktemp(name) / "data"
    shutil.copytree(template(factory, cache), target, ignore=shutil.ignore_patterns(".built"))
    return describe(target)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign `client` in (its cookie jar keeps the session); returns the CSRF token."""
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    if response.status_code != 200:
        raise RuntimeError(f"sign-in of {username} failed: {response.status_code} {response.text}")
    token: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token
