"""Folding alerts into incidents: golden cases, merges, duplicates, reopening, determinism."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from correlate_helpers import at, make_alert
from vigil.correlate import (
    ChangeKind,
    CorrelateConfig,
    CorrelateConfigError,
    Correlator,
    EntityRole,
    Incident,
    IncidentStateError,
    IncidentStatus,
    UnknownIncidentError,
)
from vigil.correlate.attack import describe, progression, tactic_of
from vigil.correlate.config import parse_config
from vigil.detect.loader import load_pack
from vigil.detect.types import Alert
from vigil.estate import load_sample_estate

CASES = Path(__file__).parent / "golden" / "correlate" / "cases.yaml"


def _cases() -> list[Any]:
    cases = YAML(typ="safe").load(CASES.read_text(encoding="utf-8"))
    return [pytest.param(case, id=case["id"]) for case in cases]


def _alerts(spec: list[dict[str, Any]]) -> list[Alert]:
    return [
        make_alert(
            item["rule"],
            item["at"],
            {str(k): str(v) for k, v in item["entities"].items()},
            uid=item["id"],
            span=item.get("span", 1.0),
            use_case=item.get("use_case", ""),
        )
        for item in spec
    ]


def _shape(incidents: list[Incident], extra: dict[str, set[str]] | None = None) -> list[Any]:
    """Each incident as (its alert ids, duplicates included; its stores), sorted."""
    shapes = []
    for incident in incidents:
        ids = {alert.uid for alert in incident.alerts} | (extra or {}).get(incident.uid, set())
        shapes.append((sorted(ids), list(incident.stores)))
    return sorted(shapes)


@pytest.mark.parametrize("case", _cases())
def test_golden_case(case: dict[str, Any]) -> None:
    config = parse_config(case.get("config", {}))
    correlator = Correlator(config)
    changes = correlator.update(_alerts(case["input"]))
    members: dict[str, set[str]] = {}
    for alert_uid, incident_uid in changes.alert_incident.items():
        members.setdefault(incident_uid, set()).add(alert_uid)
    got = sorted((sorted(members[i.uid]), list(i.stores)) for i in correlator.incidents())
    expected = sorted((sorted(e["alerts"]), e["stores"]) for e in case["expected"])
    assert got == expected
    for wanted in case["expected"]:
        if "evidence" in wanted:
            incident = correlator.get(changes.alert_incident[wanted["alerts"][0]])
            assert incident.evidence_count == wanted["evidence"]
            assert len(incident.alerts) == wanted["distinct"]


def test_store_uid_only_describes() -> None:
    correlator = Correlator()
    correlator.update([make_alert("r.a", 0, {"store": "031", "device": "d1"})])
    incident = correlator.incidents()[0]
    roles = {(e.kind, e.role) for e in incident.entities}
    assert roles == {("device", EntityRole.LINK), ("store", EntityRole.CONTEXT)}


def test_infrastructure_addresses_of_the_estate_do_not_link() -> None:
    estate = load_sample_estate()
    firewall = "10.31.60.1"  # s031-fw-01
    alerts = [
        make_alert("r.a", 0, {"store": "031", "device": "s031-pos-01", "ip": firewall}),
        make_alert("r.b", 5, {"store": "031", "device": "s031-cam-02", "ip": firewall}),
    ]
    assert len(Correlator(estate=estate).update(alerts).incidents) == 2
    assert len(Correlator().update(alerts).incidents) == 1  # without the estate it cannot know


def test_the_address_of_a_known_asset_links_as_that_device() -> None:
    estate = load_sample_estate()
    alerts = [
        make_alert("iot.telnet_scan", 0, {"store": "031", "device": "s031-cam-02"}),
        make_alert("iot.c2_dns", 30, {"store": "031", "ip": "10.31.20.12"}),  # s031-cam-02
    ]
    [incident] = Correlator(estate=estate).update(alerts).incidents
    assert incident.values("device") == ("s031-cam-02",)
    assert len(Correlator().update(alerts).incidents) == 2


def test_campaign_merge_across_three_stores() -> None:
    correlator = Correlator()
    first = correlator.update(
        [
            make_alert("pos.voids", 0, {"store": "031", "cashier": "031007"}),
            make_alert("pos.voids", 5, {"store": "044", "cashier": "044002"}),
            make_alert("pos.voids", 9, {"store": "112", "cashier": "112009"}),
        ]
    )
    assert first.opened == 3
    early = min(first.incidents, key=lambda i: i.first_seen)
    changes = correlator.update(
        [
            make_alert("vendor.login", 30, {"store": "031", "cashier": "031007", "vendor": "acme"}),
            make_alert("vendor.login", 40, {"store": "044", "cashier": "044002", "vendor": "acme"}),
            make_alert("vendor.login", 50, {"store": "112", "cashier": "112009", "vendor": "acme"}),
        ]
    )
    assert len(changes.merges) == 2
    assert {m.into for m in changes.merges} == {early.uid}
    [incident] = correlator.incidents()
    assert incident.uid == early.uid
    assert incident.stores == ("031", "044", "112")
    assert set(incident.merged_from) == {i.uid for i in first.incidents} - {early.uid}
    assert sum(note.kind == "merged" for note in incident.notes) == 2
    assert all("Title of vendor.login" in merge.reason for merge in changes.merges)
    vendor = [e for e in incident.entities if e.value == "acme"]
    assert [(e.kind, e.scope, e.alerts) for e in vendor] == [("user", "", 3)]  # estate-wide
    assert incident.risk.parts[-1].reason == "3 stores"


def test_the_same_alert_twice_is_recognised_not_counted() -> None:
    correlator = Correlator()
    alert = make_alert("r.a", 0, {"store": "031", "device": "d1"})
    correlator.update([alert])
    again = correlator.update([alert])
    assert again.repeated == 1
    assert again.incidents == ()
    assert again.alert_incident == {alert.uid: correlator.incidents()[0].uid}
    assert correlator.incidents()[0].evidence_count == 1


def test_duplicates_past_the_window_are_new_evidence_not_a_count() -> None:
    config = CorrelateConfig(duplicate_window=timedelta(minutes=30))
    correlator = Correlator(config)
    changes = correlator.update(
        [
            make_alert("r.a", 0, {"store": "031", "device": "d1"}),
            make_alert("r.a", 20, {"store": "031", "device": "d1"}),
            make_alert("r.a", 90, {"store": "031", "device": "d1"}),
        ]
    )
    assert [c.kind for c in changes.log] == [
        ChangeKind.OPENED,
        ChangeKind.DUPLICATE,
        ChangeKind.GREW,
    ]
    [incident] = correlator.incidents()
    assert sorted(a.count for a in incident.alerts) == [1, 2]


@pytest.mark.parametrize(
    ("status", "minutes", "reopens"),
    [
        (IncidentStatus.RESOLVED, 120, True),
        (IncidentStatus.CLOSED, 60 * 20, True),
        (IncidentStatus.CLOSED, 60 * 30, False),
        (IncidentStatus.ACKNOWLEDGED, 60, False),
    ],
    ids=["resolved-soon", "closed-within-window", "closed-past-window", "still-open"],
)
def test_reopen_within_the_window_and_a_new_incident_after(
    status: IncidentStatus, minutes: int, reopens: bool
) -> None:
    correlator = Correlator()
    [opened] = correlator.update([make_alert("r.a", 0, {"store": "031", "device": "d1"})]).incidents
    correlator.set_status(opened.uid, status, at(10), by="ana")
    changes = correlator.update([make_alert("r.b", minutes, {"store": "031", "device": "d1"})])
    [touched] = changes.incidents
    if reopens:
        assert touched.uid == opened.uid
        assert touched.status is IncidentStatus.REOPENED
        note = touched.notes[-1]
        assert note.kind == "reopened"
        assert "Title of r.b" in note.text
        assert f"after it was {status.value}" in note.text
        assert [c.kind for c in changes.log] == [ChangeKind.REOPENED, ChangeKind.GREW]
    elif status is IncidentStatus.ACKNOWLEDGED:
        assert touched.uid == opened.uid  # open incidents link by the device's gap only
        assert touched.status is IncidentStatus.ACKNOWLEDGED
        assert touched.acknowledged_at == at(10)
    else:
        assert touched.uid != opened.uid
        assert touched.status is IncidentStatus.NEW
        assert correlator.get(opened.uid).status is status


def _alert_stream(seed: int) -> list[Alert]:
    """Seeded random alerts over a day: stores, devices, cashiers, a few cards and vendors."""
    rng = random.Random(seed)
    alerts = []
    for index in range(300):
        store = rng.choice(["031", "044", "112", "127"])
        entities = {"store": store}
        kind = rng.choice(["device", "cashier", "card", "vendor", "ip", "none"])
        if kind == "device":
            entities["device"] = f"s{store}-dev-{rng.randrange(6)}"
        elif kind == "cashier":
            entities["cashier"] = f"{store}{rng.randrange(8):03d}"
        elif kind == "card":
            entities["card"] = f"411111******{rng.randrange(4):04d}"
        elif kind == "vendor":
            entities["vendor"] = rng.choice(["acme", "coldchain"])
        elif kind == "ip":
            entities["ip"] = rng.choice(["203.0.113.5", f"10.{int(store)}.30.{rng.randrange(5)}"])
        rule = f"r.{rng.randrange(5)}"
        alerts.append(make_alert(rule, index * 5 + rng.random(), entities))
    return alerts


def _summary(correlator: Correlator) -> list[tuple[str, tuple[str, ...], int, tuple[str, ...]]]:
    return sorted(
        (i.uid, tuple(a.uid for a in i.alerts), i.evidence_count, i.stores)
        for i in correlator.incidents()
    )


def test_replay_gives_the_same_incident_uids() -> None:
    alerts = _alert_stream(1)
    first, second = Correlator(), Correlator()
    first.update(alerts)
    second.update(list(reversed(alerts)))  # a batch is taken in event-time order
    assert _summary(first) == _summary(second)
    assert 1 < len(first.incidents()) < len(alerts)


@pytest.mark.parametrize("sizes", [(1,), (7,), (50, 3), (299, 1)], ids=str)
def test_batch_splits_give_the_same_incidents(sizes: tuple[int, ...]) -> None:
    alerts = _alert_stream(2)
    whole = Correlator()
    whole.update(alerts)
    split = Correlator()
    start = 0
    turn = 0
    while start < len(alerts):
        size = sizes[turn % len(sizes)]
        split.update(alerts[start : start + size])
        start += size
        turn += 1
    assert _summary(split) == _summary(whole)


def test_restored_state_continues_like_an_uninterrupted_run() -> None:
    alerts = _alert_stream(3)
    uninterrupted = Correlator()
    uninterrupted.update(alerts)
    before = Correlator()
    before.update(alerts[:150])
    after = Correlator()
    after.restore(before.incidents())
    after.update(alerts[150:])
    assert _summary(after) == _summary(uninterrupted)


def test_incidents_nobody_can_reach_are_forgotten() -> None:
    correlator = Correlator(CorrelateConfig(keep_for=timedelta(hours=30)))
    [old] = correlator.update([make_alert("r.a", 0, {"store": "031", "cashier": "1"})]).incidents
    correlator.update([make_alert("r.b", 60 * 31, {"store": "044", "device": "x"})])
    with pytest.raises(UnknownIncidentError):
        correlator.get(old.uid)
    [new] = correlator.update(
        [make_alert("r.a", 60 * 32, {"store": "031", "cashier": "1"})]
    ).incidents
    assert new.uid != old.uid


def test_time_to_detect_and_dwell() -> None:
    correlator = Correlator()
    correlator.update(
        [
            make_alert("r.a", 30, {"store": "031", "device": "d1"}, span=20),
            make_alert("r.b", 95, {"store": "031", "device": "d1"}),
        ]
    )
    [incident] = correlator.incidents()
    assert incident.first_seen == at(10)
    assert incident.opened_at == at(30)
    assert incident.time_to_detect == timedelta(minutes=20)
    assert incident.dwell_time == timedelta(minutes=85)
    contained = correlator.set_status(incident.uid, IncidentStatus.CONTAINED, at(60))
    assert contained.dwell_time == timedelta(minutes=50)


def test_status_errors() -> None:
    correlator = Correlator()
    [incident] = correlator.update([make_alert("r.a", 0, {"device": "d1"})]).incidents
    with pytest.raises(UnknownIncidentError, match="inc-nope"):
        correlator.set_status("inc-nope", IncidentStatus.CLOSED, at(1))
    with pytest.raises(IncidentStateError, match="merged by the correlator"):
        correlator.set_status(incident.uid, IncidentStatus.MERGED, at(1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"links": {"shoe_size": {"scope": "store", "gap": "1h"}}}, "unknown entity kind"),
        ({"links": {"store": {"scope": "store", "gap": "1h"}}}, "store cannot link"),
        ({"links": {"device": {"scope": "aisle", "gap": "1h"}}}, "links.device.scope"),
        ({"links": {"device": {"scope": "store", "gap": "soon"}}}, "not a duration"),
        ({"duplicate_window": -3600}, "must not be negative"),
        ({"keep_for": "1h"}, "keep_for"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_settings_get_a_clear_error(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CorrelateConfigError, match=message):
        parse_config(data)


def test_settings_parse_durations() -> None:
    config = parse_config(
        {"links": {"device": {"scope": "store", "gap": "90m"}}, "reopen_window": "3d"}
    )
    assert config.links["device"].gap == timedelta(minutes=90)
    assert config.reopen_window == timedelta(days=3)
    assert config.spec("ip") is None  # only the kinds listed link


@pytest.mark.slow  # loads the whole pack, Sigma rules included
def test_every_technique_of_the_pack_maps_to_a_tactic() -> None:
    techniques = {t for rule in load_pack() for t in rule.meta.attack}
    assert techniques
    assert sorted(t for t in techniques if tactic_of(t) is None) == []


@pytest.mark.parametrize(
    ("techniques", "tactics", "text"),
    [
        ((), (), ""),
        (("T1046",), ("discovery",), "discovery"),
        (
            ("T1041", "T1133", "T1071.004", "T1041"),
            ("initial-access", "command-and-control", "exfiltration"),
            "3 tactics from initial access to exfiltration",
        ),
        (("T9999",), (), ""),
    ],
)
def test_attack_progression(
    techniques: tuple[str, ...], tactics: tuple[str, ...], text: str
) -> None:
    assert progression(techniques) == tactics
    assert describe(tactics) == text
