"""Timelines from the lake across sources, the entity graph, and evidence bundles that verify."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from correlate_helpers import at, make_alert
from vigil.correlate import BundleError, BundleTamperedError, Correlator, Incident, TimelineError
from vigil.correlate.evidence import export_bundle, verify_bundle
from vigil.correlate.timeline import ClassEvents, build_timeline, related_events
from vigil.correlate.types import EntryKind
from vigil.events import EventBatch, OcsfEvent, parse_event
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

PRODUCT = {"version": "1.8.0", "product": {"name": "test", "vendor_name": "Vigil"}}
STORE_031 = {"uid": "031", "name": "Portland Pearl"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _flow(minutes: float, store: str | None, src: dict[str, object], dst_ip: str) -> OcsfEvent:
    document: dict[str, object] = {
        "class_uid": 4001,
        "activity_id": 6,
        "time": _ms(at(minutes)),
        "metadata": PRODUCT,
        "src_endpoint": src,
        "dst_endpoint": {"ip": dst_ip, "port": 8443},
    }
    if store:
        document["store"] = {"uid": store}
    return parse_event(document)


def _door(minutes: float, store: str) -> OcsfEvent:
    return parse_event(
        {
            "class_uid": 8603001,
            "activity_id": 1,
            "time": _ms(at(minutes)),
            "metadata": PRODUCT,
            "store": {"uid": store},
            "door": {"uid": f"{store}-rear", "name": "Stockroom rear"},
            "user": {"uid": "e1003", "name": "cfarouk"},
        }
    )


def _video(minutes: float, store: str) -> OcsfEvent:
    return parse_event(
        {
            "class_uid": 8606002,
            "activity_id": 3,
            "time": _ms(at(minutes)),
            "metadata": PRODUCT,
            "store": {"uid": store},
            "camera": {"type_id": 7, "uid": f"s{store}-cam-06"},
            "zone": {"uid": "stockroom", "name": "Stockroom"},
        }
    )


def _sale(minutes: float, store: str, last4: str) -> OcsfEvent:
    return parse_event(
        {
            "class_uid": 8606001,
            "activity_id": 1,
            "time": _ms(at(minutes)),
            "metadata": PRODUCT,
            "store": {"uid": store},
            "transaction": {"uid": f"{store}-2-1000", "total": 40.5},
            "tenders": [
                {"type": "card", "amount": 40.5, "card": {"bin": "411111", "last4": last4}}
            ],
            "cashier": {"uid": "e1002", "name": "bsato"},
            "device": {"type_id": 0, "uid": f"s{store}-pos-02"},
        }
    )


def _logon(minutes: float, user: str) -> OcsfEvent:
    return parse_event(
        {
            "class_uid": 3002,
            "activity_id": 1,
            "time": _ms(at(minutes)),
            "metadata": PRODUCT,
            "user": {"name": user},
            "src_endpoint": {"ip": "185.220.101.47"},
            "service": {"name": "vendor-vpn"},
        }
    )


TILL = {"uid": "s031-pos-01", "ip": "10.31.11.11", "port": 51234}
RELATED = [
    _logon(1, "rt-support"),
    _flow(2, "031", TILL, "203.0.113.9"),
    _door(4, "031"),
    _flow(6, "031", TILL, "203.0.113.9"),
    _flow(10, "044", {"ip": "10.44.11.12"}, "203.0.113.9"),  # the outside address, elsewhere
    _video(12, "031"),
    _sale(20, "031", "1234"),
    _flow(30, "031", TILL, "203.0.113.9"),
]
UNRELATED = [
    _flow(-60, "031", TILL, "203.0.113.9"),  # before the padded range
    _flow(8, "044", {"uid": "s044-pos-01", "ip": "10.31.11.11"}, "10.44.0.1"),  # same LAN address
    _flow(9, "031", {"uid": "s031-cam-02", "ip": "10.31.20.12"}, "10.31.20.5"),
    _door(4, "044"),
    _video(300, "031"),
    _sale(21, "031", "9999"),
    _logon(3, "someone-else"),
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    lake = Lake(tmp_path_factory.mktemp("lake"))
    by_class: dict[type[OcsfEvent], list[OcsfEvent]] = defaultdict(list)
    for event in RELATED + UNRELATED:
        by_class[type(event)].append(event)
    for events in by_class.values():
        lake.append(EventBatch.from_events(events))
    return lake


@pytest.fixture(scope="module")
def incident() -> Incident:
    till = {"store": "031", "device": "s031-pos-01"}
    correlator = Correlator()
    correlator.update(
        [
            make_alert("pos.new_destination", 5, {**till, "ip": "203.0.113.9"}, span=3),
            make_alert(
                "pos.refund_card", 25, {**till, "card": "411111******1234", "vendor": "rt-support"}
            ),
        ]
    )
    [found] = correlator.incidents()
    return found


def test_timeline_orders_alerts_notes_and_events_across_sources(
    lake: Lake, incident: Incident
) -> None:
    events = related_events(lake, incident)
    assert sum(group.total for group in events) == len(RELATED)
    timeline = build_timeline(incident, events)
    got = [
        (round((e.time - at(0)).total_seconds() / 60), e.kind.value, e.source)
        for e in timeline.entries
    ]
    assert got == [
        (1, "event", "authentication"),
        (2, "event", "network_activity"),
        (4, "event", "door_access"),
        (5, "alert", "pos.new_destination"),
        (5, "note", "incident"),
        (6, "event", "network_activity"),
        (10, "event", "network_activity"),
        (12, "event", "video_observation"),
        (20, "event", "pos_transaction"),
        (25, "alert", "pos.refund_card"),
        (30, "event", "network_activity"),
    ]
    assert timeline.events_total == timeline.events_shown == len(RELATED)
    flow = timeline.entries[1]
    assert flow.store == "031"
    assert flow.summary == "Traffic, s031-pos-01 (10.31.11.11:51234) -> 203.0.113.9:8443"


def test_timeline_is_capped_with_a_marker(lake: Lake, incident: Incident) -> None:
    timeline = build_timeline(incident, related_events(lake, incident, limit=3), limit=3)
    kinds = [entry.kind for entry in timeline.entries]
    assert kinds.count(EntryKind.EVENT) == 3
    assert kinds[-1] is EntryKind.MORE
    assert timeline.entries[-1].summary == f"{len(RELATED) - 3} more related events not shown"
    assert timeline.omitted == len(RELATED) - 3


def test_no_lake_means_no_events(tmp_path: Path, incident: Incident) -> None:
    assert related_events(Lake(tmp_path / "missing"), incident) == []
    timeline = build_timeline(incident, [])
    assert [e.kind for e in timeline.entries].count(EntryKind.EVENT) == 0
    assert timeline.omitted == 0


def test_a_broken_lake_file_gets_a_clear_error(tmp_path: Path, incident: Incident) -> None:
    lake = Lake(tmp_path)
    lake.append(EventBatch.from_events([_flow(2, "031", TILL, "203.0.113.9")]))
    broken = tmp_path / "network_activity" / "day=2026-11-23" / "store=031" / "part-x.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(TimelineError, match=incident.uid):
        related_events(lake, incident)


def test_entity_graph(incident: Incident) -> None:
    graph = build_timeline(incident, []).graph
    nodes = {node.id: node.kind for node in graph.nodes}
    assert nodes["device:s031-pos-01@031"] == "device"
    assert nodes["user:rt-support"] == "user"  # the vendor account, estate-wide
    assert nodes["ip:203.0.113.9"] == "ip"
    assert nodes["store:031"] == "store"
    assert sum(kind == "alert" for kind in nodes.values()) == 2
    edges = {(e.source, e.target, e.relation): e.weight for e in graph.edges}
    assert edges[("device:s031-pos-01@031", "store:031", "in_store")] == 1
    assert edges[("device:s031-pos-01@031", "ip:203.0.113.9", "seen_with")] == 1
    assert sum(r == "involves" and t == "device:s031-pos-01@031" for _, t, r in edges) == 2
    assert set(graph.nodes) == set(build_timeline(incident, []).graph.nodes)


# --- evidence bundles ------------------------------------------------------------------------


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(sqlite_url(tmp_path))
    yield database
    database.close()


@pytest.fixture(scope="module")
def events(lake: Lake, incident: Incident) -> list[ClassEvents]:
    return related_events(lake, incident)


def _export(
    events: list[ClassEvents], incident: Incident, folder: Path, database: Database | None = None
) -> Path:
    export_bundle(
        incident,
        build_timeline(incident, events),
        events,
        folder,
        actor="ana",
        source="/srv/vigil-data",
        database=database,
        host="soc-1",
    )
    return folder


def test_bundle_files_hashes_and_custody(
    events: list[ClassEvents], incident: Incident, tmp_path: Path, database: Database
) -> None:
    folder = _export(events, incident, tmp_path / "bundle", database)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == [
        "alerts.json",
        "custody.json",
        "events/authentication.csv",
        "events/door_access.csv",
        "events/network_activity.csv",
        "events/pos_transaction.csv",
        "events/video_observation.csv",
        "graph.json",
        "incident.json",
        "manifest.json",
        "timeline.csv",
    ]
    manifest = json.loads((folder / "manifest.json").read_text())
    for item in manifest["files"]:
        data = (folder / item["path"]).read_bytes()
        assert item["sha256"] == hashlib.sha256(data).hexdigest()
        assert item["bytes"] == len(data)
    custody = json.loads((folder / "custody.json").read_text())
    assert custody["exported_by"] == "ana"
    assert custody["host"] == "soc-1"
    assert custody["source"] == "/srv/vigil-data"
    assert (
        custody["manifest_sha256"]
        == hashlib.sha256((folder / "manifest.json").read_bytes()).hexdigest()
    )
    assert database.verify_audit() == 1
    bundle = verify_bundle(folder, database)
    assert bundle.custody.audit_hash is not None
    flows = (folder / "events" / "network_activity.csv").read_text().splitlines()
    assert len(flows) == 1 + 4  # header and the four related flows
    with (folder / "events" / "pos_transaction.csv").open(newline="") as handle:
        [sale] = list(csv.DictReader(handle))
    assert json.loads(sale["tenders"])[0]["card"] == {"bin": "411111", "last4": "1234"}
    assert sale["device.uid"] == "s031-pos-02"
    record = json.loads((folder / "incident.json").read_text())
    assert record["uid"] == incident.uid
    assert record["risk"]["parts"][0]["name"] == "severity"
    assert record["timeline"] == {"events_total": len(RELATED), "events_shown": len(RELATED)}
    timeline_rows = (folder / "timeline.csv").read_text().splitlines()
    assert timeline_rows[0] == "time,kind,source,store,summary,ref"
    assert len(timeline_rows) == 1 + 11


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (
            lambda f: (f / "events" / "door_access.csv").write_text("nothing,here\n"),
            "events/door_access.csv: changed",
        ),
        (lambda f: (f / "graph.json").unlink(), "graph.json: missing"),
        (lambda f: (f / "extra.txt").write_text("planted"), "extra.txt: not in the manifest"),
        (
            lambda f: (f / "manifest.json").write_text(
                (f / "manifest.json").read_text().replace("sha256", "SHA256", 1)
            ),
            "manifest.json: does not match",
        ),
    ],
    ids=["changed", "missing", "added", "manifest"],
)
def test_tampering_is_detected(
    events: list[ClassEvents], incident: Incident, tmp_path: Path, tamper: object, problem: str
) -> None:
    folder = _export(events, incident, tmp_path / "bundle")
    verify_bundle(folder)
    tamper(folder)  # type: ignore[operator]
    with pytest.raises(BundleTamperedError) as caught:
        verify_bundle(folder)
    assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems


def test_a_bundle_from_elsewhere_is_not_in_this_audit_log(
    events: list[ClassEvents], incident: Incident, tmp_path: Path, database: Database
) -> None:
    folder = _export(events, incident, tmp_path / "bundle", database)
    (tmp_path / "other").mkdir()
    other = Database.open(sqlite_url(tmp_path / "other"))
    try:
        with pytest.raises(BundleTamperedError, match="not in the log"):
            verify_bundle(folder, other)
    finally:
        other.close()
    unlogged = _export(events, incident, tmp_path / "unlogged")
    with pytest.raises(BundleTamperedError, match="names no audit log entry"):
        verify_bundle(unlogged, database)


def test_export_refuses_to_overwrite_and_unreadable_bundles_are_errors(
    events: list[ClassEvents], incident: Incident, tmp_path: Path
) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="refusing to overwrite"):
        _export(events, incident, folder)
    assert (folder / "keep.txt").read_text() == "mine"
    with pytest.raises(BundleError, match="not a readable evidence bundle"):
        verify_bundle(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert verify_bundle(_export(events, incident, empty)).custody.incident_uid == incident.uid
