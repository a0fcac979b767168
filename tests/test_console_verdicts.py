"""Verdicts feed learning: every decision (single or bulk) comes out of `/api/verdicts` in
order, with who made it, the incident's rules and alerts, and only within the reader's scope."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from console_fixtures import IN_STORE, ConsoleData, copy_of, settings_for, sign_in
from vigil.console import create_app


@pytest.fixture(scope="module")
def decided(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[ConsoleData, TestClient]]:
    """A console where an analyst of each side has set verdicts: one by one and in bulk."""
    data = copy_of(tmp_path_factory, "verdicts", request.config.cache)
    app = create_app(settings_for(data.folder))
    with TestClient(app):
        inside, outside = TestClient(app), TestClient(app)
        sign_in(inside, "analyst-in")
        sign_in(outside, "analyst-out")
        uid = data.incident_of(IN_STORE)
        body = {"verdict": "true_positive", "note": "till talked to a C2"}
        assert inside.post(f"/api/incidents/{uid}/verdict", json=body).status_code == 200
        body = {"verdict": "false_positive", "note": "it was the vendor's update"}
        assert inside.post(f"/api/incidents/{uid}/verdict", json=body).status_code == 200
        central = [*data.incidents["112"], *data.incidents["127"]]
        bulk = {"uids": central, "action": "verdict", "value": "benign"}
        assert outside.post("/api/incidents/bulk", json=bulk).status_code == 200
        admin = TestClient(app)
        sign_in(admin, "admin-in")
        yield data, admin


def test_every_decision_in_order_with_its_rules_and_alerts(
    decided: tuple[ConsoleData, TestClient],
) -> None:
    data, admin = decided
    items = admin.get("/api/verdicts").json()["items"]
    uid = data.incident_of(IN_STORE)
    mine = [item for item in items if item["incident_uid"] == uid]
    assert [(i["verdict"], i["previous"], i["by"]) for i in mine] == [
        ("true_positive", None, "analyst-in"),
        ("false_positive", "true_positive", "analyst-in"),
    ]
    assert mine[1]["note"] == "it was the vendor's update"
    assert mine[0]["rule_uids"] == ["vigil.pos.exfiltration_after_close"]
    page = admin.get(f"/api/incidents/{uid}").json()
    assert mine[0]["alert_uids"] == [alert["uid"] for alert in page["alerts"]]
    assert mine[0]["stores"] == [IN_STORE]
    benign = {i["incident_uid"] for i in items if i["verdict"] == "benign"}
    assert benign == {*data.incidents["112"], *data.incidents["127"]}
    seqs = [item["seq"] for item in items]
    assert seqs == sorted(set(seqs))  # increasing, none repeated


def test_a_learner_reads_on_from_the_last_decision_it_saw(
    decided: tuple[ConsoleData, TestClient],
) -> None:
    _, admin = decided
    everything = admin.get("/api/verdicts").json()["items"]
    read, after = [], 0
    while True:
        page = admin.get("/api/verdicts", params={"after": after, "limit": 2}).json()
        read += page["items"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert read == everything
    last = everything[-1]["seq"]
    assert admin.get("/api/verdicts", params={"after": last}).json() == {
        "items": [],
        "next_after": None,
    }


def test_a_reader_sees_only_the_decisions_of_their_stores(
    decided: tuple[ConsoleData, TestClient],
) -> None:
    data, admin = decided
    viewer = TestClient(admin.app)
    sign_in(viewer, "viewer-in")
    seen = viewer.get("/api/verdicts").json()["items"]
    assert {item["incident_uid"] for item in seen} == {data.incident_of(IN_STORE)}
    assert all(item["stores"] == [IN_STORE] for item in seen)
    assert TestClient(admin.app).get("/api/verdicts").status_code == 401
    assert admin.get("/api/verdicts", params={"limit": 0}).status_code == 422
