"""The console API over a data folder the real pipeline filled (see console_fixtures):
the queue with cursors and scope, the incident page, actions and their audit trail,
approvals through the engine, stores, hunting (and injection attempts), detections,
health, and the live stream."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from console_fixtures import (
    FOOTFALL,
    IN_STORE,
    NOW,
    REQUESTER,
    ConsoleData,
    copy_of,
    settings_for,
    sign_in,
)
from vigil.console import create_app
from vigil.console.detections.rules import active_rules, pack_rules
from vigil.estate import load_estate
from vigil.store.database import Database
from vigil.store.models import AuditEntry, DetectionOverride

RULE = "vigil.pos.no_sales"
"""A pack rule the sample telemetry triggers once, in store 112."""
OTHER_RULE = "vigil.web.ddos"
"""Switched off by one test (no other test reads it)."""
EDITED_RULE = "vigil.pos.voids"
"""Edited by one test (no other test reads it)."""


@dataclass
class Api:
    data: ConsoleData
    app: object
    clients: dict[str, TestClient] = field(default_factory=dict)

    def as_(self, user: str) -> TestClient:
        if user not in self.clients:
            client = TestClient(self.app)  # type: ignore[arg-type]
            sign_in(client, user)
            self.clients[user] = client
        return self.clients[user]

    @property
    def database(self) -> Database:
        database: Database = self.app.state.console.database  # type: ignore[attr-defined]
        return database

    def audit(self, action: str) -> list[AuditEntry]:
        with self.database.session() as session:
            query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            return list(session.scalars(query))


def _api(
    factory: pytest.TempPathFactory, request: pytest.FixtureRequest, name: str
) -> Iterator[Api]:
    data = copy_of(factory, name, request.config.cache)
    settings = settings_for(
        data.folder,
        stream_poll=timedelta(milliseconds=30),
        stream_lifetime=timedelta(seconds=1),
    )
    app = create_app(settings)
    with TestClient(app):
        yield Api(data, app)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Api]:
    yield from _api(tmp_path_factory, request, "api")


@pytest.fixture
def own_api(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Api]:
    """A console of its own, for tests whose changes others must not see."""
    yield from _api(tmp_path_factory, request, "own")


def _all_pages(client: TestClient, limit: int, **params: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    for _ in range(100):
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/incidents", params=query).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


# --- the queue -----------------------------------------------------------------------------


def test_the_queue_is_sorted_by_risk_and_cursor_pages_cover_it_once(api: Api) -> None:
    admin = api.as_("admin-in")
    everything = admin.get("/api/incidents", params={"limit": 200}).json()
    assert everything["next_cursor"] is None
    risks = [item["risk"] for item in everything["items"]]
    assert risks == sorted(risks, reverse=True)
    known = {uid for uids in api.data.incidents.values() for uid in uids}
    assert {item["uid"] for item in everything["items"]} == known
    paged = _all_pages(admin, limit=2)
    assert [item["uid"] for item in paged] == [item["uid"] for item in everything["items"]]
    first = everything["items"][0]
    assert set(first) == {
        "uid", "title", "status", "risk", "risk_level", "use_case", "stores", "alerts",
        "opened_at", "updated_at", "assignee", "verdict",
    }  # fmt: skip
    assert first["use_case"] == "pos_malware"


def test_scoped_users_see_only_incidents_of_their_stores(api: Api) -> None:
    inside = _all_pages(api.as_("viewer-in"), limit=1)
    assert {item["uid"] for item in inside} == set(api.data.incidents[IN_STORE])
    central = _all_pages(api.as_("viewer-out"), limit=1)
    assert {tuple(item["stores"]) for item in central} <= {("112",), ("127",)}
    assert {item["uid"] for item in central} == set(
        api.data.incidents["112"] + api.data.incidents["127"]
    )
    estate_wide = api.data.incidents[""][0]
    assert api.as_("viewer-in").get(f"/api/incidents/{estate_wide}").status_code == 404
    assert api.as_("admin-in").get(f"/api/incidents/{estate_wide}").status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"store": "044"}, lambda d: set(d.incidents["044"])),
        ({"min_risk": 75}, None),
        ({"q": "store 031"}, lambda d: set(d.incidents["031"])),
        ({"q": "%"}, lambda d: set()),
        ({"q": "'; DROP TABLE incidents; --"}, lambda d: set()),
        ({"store": "031' OR '1'='1"}, lambda d: set()),
        ({"status": "new,acknowledged"}, None),
    ],
)
def test_queue_filters(api: Api, params: dict[str, object], expected: object) -> None:
    items = _all_pages(api.as_("admin-in"), limit=3, **params)
    if callable(expected):
        assert {item["uid"] for item in items} == expected(api.data)
    if "min_risk" in params:
        assert items
        assert all(item["risk"] >= 75 for item in items)
    if "status" in params:
        assert items
        assert {item["status"] for item in items} <= {"new", "acknowledged"}


@pytest.mark.parametrize(
    ("params", "status"),
    [({"cursor": "not-a-cursor"}, 400), ({"status": "exploded"}, 422), ({"limit": 0}, 422)],
)
def test_bad_queue_requests_are_refused(api: Api, params: dict[str, object], status: int) -> None:
    response = api.as_("admin-in").get("/api/incidents", params=params)
    assert response.status_code == status
    assert isinstance(response.json()["detail"], str)


# --- the incident page ---------------------------------------------------------------------


def test_the_incident_page_explains_and_shows_the_evidence(api: Api) -> None:
    uid = api.data.incident_of(IN_STORE)
    page = api.as_("viewer-in").get(f"/api/incidents/{uid}").json()
    assert page["uid"] == uid
    assert page["stores"] == [IN_STORE]
    assert page["explanation"].startswith(page["risk_level"].capitalize())
    assert {part["name"] for part in page["risk_parts"]} >= {"severity"}
    assert ("device", "s031-pos-01") in {(e["kind"], e["value"]) for e in page["entities"]}
    [alert] = page["alerts"]
    assert alert["rule_uid"] == "vigil.pos.exfiltration_after_close"
    assert alert["severity"] == "critical"
    kinds = {entry["kind"] for entry in page["timeline"]}
    assert {"alert", "event"} <= kinds
    assert any(node["kind"] == "device" for node in page["graph"]["nodes"])
    assert page["graph"]["edges"]
    [evidence] = page["evidence"]
    assert evidence["alert_uid"] == alert["uid"]
    assert evidence["rows"][0]["dst_endpoint.ip"] == "203.0.113.9"
    [run] = page["runs"]
    assert run["playbook"] == "pos-malware"
    assert run["status"] == "waiting"
    assert run["steps"][0]["id"] == "quarantine"
    [approval] = page["approvals"]
    assert approval["status"] == "pending"
    assert approval["requested_by"] == REQUESTER
    assert isinstance(page["video"], list)


def test_unknown_incidents_are_404(api: Api) -> None:
    assert api.as_("admin-in").get("/api/incidents/inc-nope").status_code == 404
    prefix = api.data.incident_of(IN_STORE)[:8]
    assert api.as_("admin-in").get(f"/api/incidents/{prefix}").status_code == 404


def test_verdict_assignment_and_comments_are_kept_and_audited(api: Api) -> None:
    uid = api.data.incident_of("044")
    analyst = api.as_("admin-in")
    verdict = analyst.post(
        f"/api/incidents/{uid}/verdict",
        json={"verdict": "false_positive", "note": "maintenance window"},
    )
    assert verdict.status_code == 200
    assert verdict.json()["verdict"] == "false_positive"
    assigned = analyst.post(f"/api/incidents/{uid}/assign", json={"assignee": "analyst-in"})
    assert assigned.status_code == 422  # analyst-in covers 031, not 044
    assert "outside their scope" in assigned.json()["detail"]
    assert (
        analyst.post(f"/api/incidents/{uid}/assign", json={"assignee": "ghost"}).status_code == 422
    )
    assigned = analyst.post(f"/api/incidents/{uid}/assign", json={"assignee": "admin-in"})
    assert assigned.json()["assignee"] == "admin-in"
    comment = analyst.post(f"/api/incidents/{uid}/comments", json={"text": "called the store"})
    assert comment.status_code == 201
    page = analyst.get(f"/api/incidents/{uid}").json()
    texts = [c["text"] for c in page["comments"]]
    assert texts == ["Verdict false_positive: maintenance window", "called the store"]
    assert page["assignee"] == "admin-in"
    assert api.audit("incident.verdict")[-1].target == uid
    assert api.audit("incident.assign")[-1].detail == {"from": None, "to": "admin-in"}
    assert api.audit("incident.comment")[-1].actor == "admin-in"


def test_bulk_changes_all_or_nothing(api: Api) -> None:
    first, second = api.data.incidents["127"][0], api.data.incidents["112"][0]
    analyst = api.as_("analyst-out")
    done = analyst.post(
        "/api/incidents/bulk", json={"uids": [first, second], "action": "status", "value": "closed"}
    )
    assert done.status_code == 200
    assert [item["status"] for item in done.json()["items"]] == ["closed", "closed"]
    mixed = analyst.post(
        "/api/incidents/bulk",
        json={"uids": [first, api.data.incident_of(IN_STORE)], "action": "status", "value": "new"},
    )
    assert mixed.status_code == 404
    assert api.as_("admin-in").get(f"/api/incidents/{first}").json()["status"] == "closed"
    wrong = analyst.post(
        "/api/incidents/bulk", json={"uids": [first], "action": "status", "value": "merged"}
    )
    assert wrong.status_code == 422


def test_respond_dry_run_plans_without_running(api: Api) -> None:
    uid = api.data.incidents[IN_STORE][0]
    response = api.as_("analyst-in").post(f"/api/incidents/{uid}/respond", json={"dry_run": True})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"plans"}
    [plan] = body["plans"]
    assert plan["playbook"] == "pos-malware"
    assert plan["steps"][0]["outcome"].startswith("would")


# --- approvals -------------------------------------------------------------------------------


def test_approvals_are_listed_in_scope(api: Api) -> None:
    inside = api.as_("approver-in").get("/api/approvals").json()
    assert [a["uid"] for a in inside] == list(api.data.approvals)
    assert all(a["stores"] == [IN_STORE] and a["status"] == "pending" for a in inside)
    assert api.as_("approver-out").get("/api/approvals").json() == []
    assert api.as_("viewer-in").get("/api/approvals", params={"status": "all"}).status_code == 200
    assert api.as_("viewer-in").get("/api/approvals", params={"status": "maybe"}).status_code == 422


def test_approve_and_reject_go_through_the_engine(own_api: Api) -> None:
    approve_uid, reject_uid = own_api.data.approvals
    requester = own_api.as_(REQUESTER)
    own = requester.post(f"/api/approvals/{approve_uid}/approve", json={"reason": "mine"})
    assert own.status_code == 403
    assert "separation of duties" in own.json()["detail"]
    approver = own_api.as_("approver-in")
    approved = approver.post(
        f"/api/approvals/{approve_uid}/approve", json={"reason": "lane 2 beacons"}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    again = own_api.as_("admin-in").post(
        f"/api/approvals/{approve_uid}/approve", json={"reason": "me too"}
    )
    assert again.status_code == 409
    rejected = approver.post(f"/api/approvals/{reject_uid}/reject", json={"reason": "not now"})
    assert rejected.json()["status"] == "rejected"
    incident = approved.json()["incident_uid"]
    page = own_api.as_("approver-in").get(f"/api/incidents/{incident}").json()
    quarantine = next(s for s in page["runs"][0]["steps"] if s["id"] == "quarantine")
    assert quarantine["status"] != "waiting"
    decisions = own_api.audit("respond.approval.decide")
    assert [(d.actor, d.detail["vote"]) for d in decisions] == [
        ("approver-in", "approve"),
        ("approver-in", "reject"),
    ]
    assert decisions[0].detail["source"].startswith("console ")
    refused = own_api.audit("respond.approval.refused")
    assert refused[0].actor == REQUESTER
    waiting = own_api.as_("approver-in").get("/api/approvals").json()
    assert {a["uid"] for a in waiting}.isdisjoint({approve_uid, reject_uid})
    assert waiting  # assisted mode: each run's next step waits in turn
    assert {a["step"] for a in waiting} == {"block-c2"}


# --- stores --------------------------------------------------------------------------------


def test_stores_show_health_incidents_and_scope(api: Api) -> None:
    stores = {s["uid"]: s for s in api.as_("admin-in").get("/api/stores").json()}
    assert set(stores) == {"031", "044", "112", "127"}
    assert stores["031"]["region"] == "west"
    assert stores["031"]["health"]["status"] == "ok"
    assert stores["031"]["health"]["events_last_hour"] > 0
    assert stores["112"]["health"]["status"] == "silent"
    assert stores["031"]["incidents_open"] == len(api.data.incidents["031"])
    assert stores["031"]["risk_max"] > 70
    assert isinstance(stores["031"]["open"], bool)
    mine = api.as_("viewer-in").get("/api/stores").json()
    assert [s["uid"] for s in mine] == ["031"]
    central = api.as_("admin-in").get("/api/stores", params={"region": "central"}).json()
    assert [s["uid"] for s in central] == ["112", "127"]
    found = api.as_("admin-in").get("/api/stores", params={"q": "chicago"}).json()
    assert [s["uid"] for s in found] == ["112"]


def test_the_store_view_reads_the_lake_for_one_store(api: Api) -> None:
    view = api.as_("viewer-out").get("/api/stores/112/view").json()
    assert set(view) == {
        "since", "until", "footfall", "queues", "heatmap", "after_hours", "pos_exceptions",
    }  # fmt: skip
    assert view["queues"]
    assert all(q["camera"].startswith("s112-") for q in view["queues"])
    cashiers = {row["cashier"]: row for row in view["pos_exceptions"]}
    assert any(row["no_sales"] >= 6 for row in cashiers.values())
    assert api.as_("viewer-out").get("/api/stores/031/view").status_code == 404
    assert api.as_("viewer-out").get("/api/stores/999/view").status_code == 404
    seattle = api.as_("admin-in").get("/api/stores/044/view").json()
    assert seattle["heatmap"]["camera"].startswith("s044-")
    assert sum(map(sum, seattle["heatmap"]["grid"])) >= 1


def test_footfall_heat_map_and_after_hours_come_from_video_analytics(api: Api) -> None:
    view = api.as_("viewer-in").get(f"/api/stores/{IN_STORE}/view").json()
    expected: Counter[tuple[str, str]] = Counter(
        (f"2026-11-21T{clock[:2]}:00:00Z", direction) for clock, direction in FOOTFALL
    )
    assert view["footfall"] == [
        {"t": hour, "in": expected[(hour, "in")], "out": expected[(hour, "out")]}
        for hour in sorted({hour for hour, _ in expected})
    ]
    heat = view["heatmap"]
    assert heat["camera"] == "s031-cam-01"
    assert sum(map(sum, heat["grid"])) == len(FOOTFALL)
    assert sum(heat["grid"][-1]) == len(FOOTFALL)  # they stood at the bottom of the frame
    estate = load_estate(api.data.folder / "estate.yaml")
    store = estate.store(IN_STORE)
    assert all(
        not estate.is_open(store, datetime.fromisoformat(event["time"]))
        for event in view["after_hours"]
    )


# --- hunting -------------------------------------------------------------------------------


def test_search_filters_and_histogram(api: Api) -> None:
    body = {
        "event_class": "pos_transaction",
        "filters": {"activity_name": "No Sale"},
        "store": "112",
        "limit": 3,
    }
    result = api.as_("analyst-out").post("/api/hunt/search", json=body).json()
    assert result["total"] >= 6
    assert len(result["rows"]) == 3
    assert sum(b["n"] for b in result["histogram"]) == result["total"]
    column = result["columns"].index("activity_name")
    assert {row[column] for row in result["rows"]} == {"No Sale"}
    wildcard = {**body, "filters": {"cashier.name": "*"}, "limit": 1000}
    assert api.as_("analyst-out").post("/api/hunt/search", json=wildcard).json()["total"] >= 6


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (
            {"event_class": "pos_transaction", "filters": {"activity_name": "'; DROP TABLE x; --"}},
            200,
        ),
        ({"event_class": "pos_transaction", "filters": {"1=1; DROP TABLE x": "a"}}, 422),
        ({"event_class": 'pos_transaction" OR 1=1 --', "filters": {}}, 422),
        ({"event_class": "pos_transaction", "store": "031"}, 404),
        ({"event_class": "pos_transaction", "filters": {}, "limit": 5000}, 422),
    ],
)
def test_search_refuses_injection_and_other_stores(
    api: Api, body: dict[str, object], status: int
) -> None:
    response = api.as_("analyst-out").post("/api/hunt/search", json=body)
    assert response.status_code == status
    if status == 200:
        assert response.json()["total"] == 0


def test_search_without_a_store_stays_in_scope(api: Api) -> None:
    result = (
        api.as_("analyst-out")
        .post("/api/hunt/search", json={"event_class": "network_activity", "limit": 1000})
        .json()
    )
    column = result["columns"].index("store.uid")
    assert result["rows"]
    assert {row[column] for row in result["rows"]} <= {"112", "127"}


def test_sql_sees_only_the_stores_in_scope(api: Api) -> None:
    sql = 'SELECT "store.uid" AS store, count(*) AS n FROM pos_transaction GROUP BY ALL ORDER BY 1'
    everything = api.as_("admin-in").post("/api/hunt/sql", json={"sql": sql}).json()
    assert [row[0] for row in everything["rows"]] == ["031", "044", "112", "127"]
    mine = api.as_("analyst-in").post("/api/hunt/sql", json={"sql": sql}).json()
    assert mine["columns"] == ["store", "n"]
    assert mine["rows"] == [["031", 40]]
    union = (
        'SELECT "store.uid" FROM pos_transaction WHERE "store.uid" = \'031\' '
        'UNION ALL SELECT "store.uid" FROM pos_transaction WHERE "store.uid" = \'112\' '
        'UNION ALL SELECT "store.uid" FROM network_activity WHERE "store.uid" <> \'031\''
    )
    rows = api.as_("analyst-in").post("/api/hunt/sql", json={"sql": union}).json()["rows"]
    assert rows
    assert {row[0] for row in rows} == {"031"}
    shadow = (
        "WITH pos_transaction AS (SELECT * FROM door_access) "
        'SELECT DISTINCT "store.uid" FROM pos_transaction'
    )
    rows = api.as_("analyst-in").post("/api/hunt/sql", json={"sql": shadow}).json()["rows"]
    assert rows == [["031"]]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM pos_transaction; DROP TABLE pos_transaction",
        "'; DROP TABLE pos_transaction; --",
        "SELECT * FROM read_parquet('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT * FROM pos_transaction) TO '/tmp/out.csv'",
        "SELECT * FROM main.pos_transaction",
        "SELECT * FROM memory.main.pos_transaction",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM (SELECT 1) WHERE 1 IN (SELECT 1 FROM glob('/etc/*'))",
        "ATTACH '/tmp/x.db' AS x",
        "CREATE TABLE x AS SELECT 1",
        "INSTALL httpfs",
        "SELECT * FROM sqlite_master",
    ],
)
def test_sql_refuses_anything_but_reading_the_views(api: Api, sql: str) -> None:
    for user in ("analyst-in", "admin-in"):
        response = api.as_(user).post("/api/hunt/sql", json={"sql": sql})
        assert response.status_code == 400, (user, response.text)
        assert response.json()["detail"].startswith(("refused", "invalid SQL"))


def test_saved_searches_are_per_user(api: Api) -> None:
    query = {"event_class": "pos_transaction", "filters": {"activity_name": "Refund"}}
    saved = api.as_("analyst-in").post("/api/hunt/saved", json={"name": "refunds", "query": query})
    assert saved.status_code == 201
    again = api.as_("analyst-in").post("/api/hunt/saved", json={"name": "refunds", "query": {}})
    assert again.status_code == 409
    mine = api.as_("analyst-in").get("/api/hunt/saved").json()
    assert [(s["name"], s["query"]) for s in mine] == [("refunds", query)]
    assert api.as_("analyst-out").get("/api/hunt/saved").json() == []


# --- detections ----------------------------------------------------------------------------


def test_detections_list_the_pack(api: Api) -> None:
    rules = {r["uid"]: r for r in api.as_("viewer-in").get("/api/detections").json()}
    rule = rules[RULE]
    assert rule["kind"] == "threshold"
    assert rule["enabled"] is True
    assert rule["origin"].startswith("pack/")
    assert rule["use_case"] == "cashier_abuse"
    assert len(rules) == len(pack_rules())


def test_disabling_a_rule_persists_for_the_live_engine(api: Api) -> None:
    admin = api.as_("admin-in")
    response = admin.post(f"/api/detections/{OTHER_RULE}/enabled", json={"enabled": False})
    assert response.status_code == 200
    assert response.json()["enabled"] is False
    listed = {r["uid"]: r for r in admin.get("/api/detections").json()}
    assert listed[OTHER_RULE]["enabled"] is False
    with api.database.session() as session:
        override = session.get(DetectionOverride, OTHER_RULE)
    assert override is not None
    assert override.enabled is False
    active = {rule.meta.uid for rule in active_rules(api.database)}
    assert OTHER_RULE not in active
    assert RULE in active
    assert (
        admin.post("/api/detections/vigil.nope/enabled", json={"enabled": False}).status_code == 404
    )
    assert api.audit("detection.enabled")[-1].detail == {"enabled": False}


def test_lint_reports_every_problem_with_its_line(api: Api) -> None:
    text = "kind: threshold\nuid: x.y\n---\nkind: nonsense\n"
    problems = api.as_("analyst-in").post("/api/detections/lint", json={"yaml": text}).json()
    lines = sorted(p["line"] for p in problems["problems"])
    assert len(lines) == 2
    assert lines[1] >= 4
    ok = api.as_("analyst-in").post("/api/detections/lint", json={"yaml": _pack_rule_text(RULE)})
    assert ok.json() == {"problems": []}


def _pack_rule_text(uid: str) -> str:
    """The YAML document of a pack rule, as shipped."""
    rule = next(r for r in pack_rules() if r.meta.uid == uid)
    text = Path(rule.origin.rpartition(":")[0]).read_text(encoding="utf-8")
    documents = re.split(r"^---\s*$", text, flags=re.MULTILINE)
    return next(d for d in documents if re.search(rf"^id: {re.escape(uid)}$", d, re.MULTILINE))


def test_editing_a_rule_replaces_it_after_lint(api: Api) -> None:
    admin = api.as_("admin-in")
    text = _pack_rule_text(EDITED_RULE).replace("severity: medium", "severity: high")
    edited = admin.put(f"/api/detections/{EDITED_RULE}", json={"yaml": text})
    assert edited.status_code == 200, edited.text
    assert edited.json()["origin"] == "console"
    assert edited.json()["severity"] == "high"
    broken = admin.put(f"/api/detections/{EDITED_RULE}", json={"yaml": "kind: threshold\n"})
    assert broken.status_code == 422
    other = admin.put("/api/detections/vigil.pos.exfiltration_after_close", json={"yaml": text})
    assert other.status_code == 422
    assert "exactly one rule" in other.json()["detail"]


def test_backtest_replays_one_rule_in_scope(api: Api) -> None:
    everything = api.as_("admin-in").post(f"/api/detections/{RULE}/backtest", json={"since": "30d"})
    assert everything.status_code == 200
    result = everything.json()
    assert result["count"] == 1
    assert result["events"] > 0
    [alert] = result["alerts"]
    assert alert["store"] == "112"
    mine = api.as_("analyst-in").post(f"/api/detections/{RULE}/backtest", json={"since": "30d"})
    assert mine.json()["count"] == 0
    bad = api.as_("admin-in").post(f"/api/detections/{RULE}/backtest", json={"since": "forever"})
    assert bad.status_code == 422


# --- health and the live stream ------------------------------------------------------------


def test_health_shows_sources_dead_letters_and_parts(api: Api) -> None:
    health = api.as_("viewer-in").get("/api/health").json()
    sources = {s["source"].rsplit("/", 1)[-1]: s for s in health["sources"]}
    assert sources["sample_events.ndjson"]["events"] == 697
    assert sources["broken.ndjson"]["rejected"] == 2
    counted = ("skipped", "recoded", "pans_masked", "dropped")
    assert {name: sources["broken.ndjson"][name] for name in counted} == dict.fromkeys(counted, 0)
    assert health["dead_letters"]["total"] == 2
    assert {w["name"]: w["status"] for w in health["workers"]} == {
        "database": "ok",
        "lake": "ok",
        "respond": "ok",
    }


BROKEN = '{"class_uid": 4001, "time": "not a time"}'
BROKEN_REASON = (
    "activity_id: Field required; time: Value error, Invalid isoformat string: 'not a time'; "
    "metadata: Field required"
)
NOT_JSON = "this is not JSON"


def test_dead_letters_are_read_newest_first_page_by_page(api: Api) -> None:
    admin = api.as_("admin-in")
    page = admin.get("/api/health/dead-letters").json()
    source = page["items"][0]["source"]
    assert source.endswith("/incoming/broken.ndjson")
    kept = (NOW - timedelta(minutes=3)).isoformat().replace("+00:00", "Z")
    assert [
        (item["source"], item["position"], item["reason"], item["raw"], item["at"])
        for item in page["items"]
    ] == [
        (source, "line 2", "ocsf_json: Expecting value: line 1 column 1 (char 0)", NOT_JSON, kept),
        (source, "line 1", f"ocsf_json: {BROKEN_REASON}", BROKEN, kept),
    ]
    assert page["next_before"] is None
    first = admin.get("/api/health/dead-letters", params={"limit": 1}).json()
    assert [item["position"] for item in first["items"]] == ["line 2"]
    older = {"limit": 1, "before": first["next_before"]}
    second = admin.get("/api/health/dead-letters", params=older).json()
    assert ([item["position"] for item in second["items"]], second["next_before"]) == (
        ["line 1"],
        None,
    )
    mine = admin.get("/api/health/dead-letters", params={"source": source}).json()
    assert mine == page
    other = admin.get("/api/health/dead-letters", params={"source": "http:nope"}).json()
    assert other == {"items": [], "next_before": None}
    refused = api.as_("analyst-in").get("/api/health/dead-letters")
    assert refused.status_code == 403
    assert "`*` scope" in refused.json()["detail"]
    assert api.audit("health.dead_letters")[-1].target == "http:nope"


def test_the_stream_sends_changes_in_scope(api: Api) -> None:
    uid = api.data.incident_of(IN_STORE)
    seen: dict[str, list[str]] = {}
    for user in ("viewer-in", "viewer-out"):
        with api.as_(user).stream("GET", "/api/incidents/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.iter_lines()
            assert next(lines).startswith("retry:")
            change = api.as_("admin-in").post(
                f"/api/incidents/{uid}/assign", json={"assignee": f"{user}-{NOW:%H%M}"}
            )
            assert change.status_code == 422  # not a user: nothing changes
            api.as_("admin-in").post(
                f"/api/incidents/{uid}/verdict",
                json={"verdict": "benign" if user == "viewer-in" else "true_positive"},
            )
            seen[user] = [line for line in lines if line.startswith("data:")]
    events = [json.loads(line.removeprefix("data:")) for line in seen["viewer-in"]]
    assert uid in {event["uid"] for event in events}
    assert next(e for e in events if e["uid"] == uid)["verdict"] == "benign"
    others = [json.loads(line.removeprefix("data:")) for line in seen["viewer-out"]]
    assert uid not in {event["uid"] for event in others}
