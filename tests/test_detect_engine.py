"""The detection engine and the native rule kinds: a rule inline, events, the exact alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.loader import lint_rules, load_pack, load_rules, pack_files
from vigil.detect.rules.base import class_schema
from vigil.detect.types import LintError, RuleError
from vigil.estate import load_sample_estate

T0 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # Black Friday, 12:00 in Chicago
COMMON = """
title: t
use_case: test
severity: high
explanation: "{src_endpoint.ip} {count} {distinct} {store}"
"""


def frame(event_class: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows of a class with its full column set (what the lake hands the engine)."""
    schema = class_schema(event_class)
    columns = [c for c in schema if not c.startswith("ctx.")]
    data = {c: [row.get(c) for row in rows] for c in columns}
    return pl.DataFrame(data, schema={c: schema[c] for c in columns})


def rules_from(tmp_path: Path, text: str) -> Engine:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return Engine(load_rules([path]), load_sample_estate())


def auth(i: int, ip: str, user: str, status: int = 2, store: str = "031") -> dict[str, Any]:
    return {
        "time": T0 + timedelta(seconds=10 * i),
        "src_endpoint.ip": ip,
        "user.name": user,
        "status_id": status,
        "store.uid": store,
        "activity_id": 1,
    }


def test_distinct_count_raises_one_alert_per_key_with_evidence(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: spray\nkind: distinct\n"
        + COMMON
        + "class: authentication\nwhere: {status_id: 2}\ngroup_by: [src_endpoint.ip]\n"
        "field: user.name\nwindow: 10m\ncondition: {gte: 5}\n",
    )
    rows = [auth(i, "203.0.113.9", f"u{i}") for i in range(8)]
    rows += [auth(i, "10.0.0.5", "same") for i in range(8)]  # many tries, one user: no alert
    rows += [auth(i, "198.51.100.1", f"v{i}", status=1) for i in range(8)]  # successes
    result = engine.process("authentication", frame("authentication", rows))
    assert [(a.rule.uid, a.entities) for a in result.alerts] == [
        ("spray", {"ip": "203.0.113.9", "store": "031"})
    ]
    # The window moves in steps of a tenth of its length (1 min here): the explanation quotes
    # the first step in which the bound was reached; the alert is complete at the row that
    # reached it (the fifth user, at 40 s), and its evidence ends there.
    alert = result.alerts[0]
    assert alert.values["distinct"] == 6
    assert alert.explanation == "203.0.113.9 6 6 031"
    assert alert.evidence.height == 5
    assert alert.first_seen == T0
    assert alert.time == T0 + timedelta(seconds=40)


def test_ratio_fires_on_the_share_not_the_count(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: surge\nkind: threshold\naggregate: ratio\n"
        + COMMON
        + "class: authentication\nshare: {status_id: 2}\nmin_count: 10\nwindow: 1m\n"
        "condition: {gte: 0.6}\n",
    )

    def burst(start: int, failures: int, total: int) -> list[dict[str, Any]]:
        return [
            {
                "time": T0 + timedelta(seconds=start + i),
                "src_endpoint.ip": f"198.51.100.{i}",
                "user.name": f"u{i}",
                "status_id": 2 if i < failures else 1,
                "store.uid": "031",
            }
            for i in range(total)
        ]

    # A busy minute with ordinary mistakes (3 in 40) raises nothing; nor do 5 failures
    # out of 5, too few to judge. Then 12 failures in a row: the 10th event of the window
    # (at 609 s) is where the share is first judged and is already 0.9.
    rows = (
        burst(0, 3, 40) + burst(300, 5, 5) + [{**row, "status_id": 2} for row in burst(600, 12, 12)]
    )
    result = engine.process("authentication", frame("authentication", rows))
    assert len(result.alerts) == 1
    alert = result.alerts[0]
    assert alert.time == T0 + timedelta(seconds=609)
    assert alert.values["ratio"] >= 0.6


def test_threshold_counts_across_batches_and_suppresses_repeats(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: fails\nkind: threshold\n"
        + COMMON
        + "class: authentication\nwhere: {status_id: 2}\ngroup_by: [src_endpoint.ip]\n"
        "window: 10m\ncondition: {gte: 6}\n",
    )
    first = engine.process(
        "authentication", frame("authentication", [auth(i, "a", "u") for i in range(4)])
    )
    second = engine.process(
        "authentication", frame("authentication", [auth(i, "a", "u") for i in range(4, 12)])
    )
    assert first.alerts == []
    assert [a.values["count"] for a in second.alerts] == [6]  # once, not once per event


def test_window_slides_old_events_stop_counting(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: fails\nkind: threshold\n"
        + COMMON
        + "class: authentication\ngroup_by: [src_endpoint.ip]\nwindow: 10m\ncondition: {gte: 4}\n",
    )
    rows = [auth(0, "a", "u"), auth(1, "a", "u")]
    rows += [{**auth(0, "a", "u"), "time": T0 + timedelta(minutes=30 + m)} for m in range(2)]
    result = engine.process("authentication", frame("authentication", rows))
    assert result.alerts == []


def test_velocity_sum_per_minute(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: upload\nkind: velocity\n"
        + COMMON
        + "class: network_activity\ngroup_by: [src_endpoint.ip]\nfield: traffic.bytes_out\n"
        "window: 2m\nper: 1m\ncondition: {gte: 1000000}\n",
    )
    rows = [
        {
            "time": T0 + timedelta(seconds=5 * i),
            "src_endpoint.ip": "10.0.0.9",
            "traffic.bytes_out": 200_000,
        }
        for i in range(12)
    ]
    result = engine.process("network_activity", frame("network_activity", rows))
    assert len(result.alerts) == 1
    assert result.alerts[0].values["rate"] == pytest.approx(1_000_000)


def test_sequence_pairs_across_classes_in_either_arrival_order(tmp_path: Path) -> None:
    text = (
        "id: door_then_till\nkind: sequence\n"
        + COMMON
        + "first: {class: door_access, where: {activity_name: Access Granted}}\n"
        "then: {class: pos_transaction}\nby: [store.uid]\nwithin: 30m\n"
    )
    door = frame(
        "door_access", [{"time": T0, "store.uid": "031", "activity_name": "Access Granted"}]
    )
    till = frame("pos_transaction", [{"time": T0 + timedelta(minutes=10), "store.uid": "031"}])
    late_till = frame("pos_transaction", [{"time": T0 + timedelta(minutes=50), "store.uid": "031"}])
    in_order = rules_from(tmp_path, text)
    assert in_order.process("door_access", door).alerts == []
    assert len(in_order.process("pos_transaction", till).alerts) == 1
    reversed_ = rules_from(tmp_path, text)
    assert reversed_.process("pos_transaction", till).alerts == []
    alerts = reversed_.process("door_access", door).alerts
    assert [a.entities for a in alerts] == [{"store": "031"}]
    assert alerts[0].evidence.height == 2
    too_late = rules_from(tmp_path, text)
    too_late.process("door_access", door)
    assert too_late.process("pos_transaction", late_till).alerts == []


def test_new_value_learns_then_alerts_once_per_new_pair(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: newdst\nkind: new_value\n"
        + COMMON
        + "class: network_activity\nkey: [src_endpoint.ip]\nvalue: [dst_endpoint.ip]\n"
        "learn_for: 1h\nsuppress: 1s\n",
    )

    def flow(minutes: float, dst: str) -> dict[str, Any]:
        return {
            "time": T0 + timedelta(minutes=minutes),
            "src_endpoint.ip": "10.0.43.12",
            "dst_endpoint.ip": dst,
        }

    learning = engine.process(
        "network_activity", frame("network_activity", [flow(0, "10.0.1.1"), flow(30, "10.0.1.2")])
    )
    later = engine.process(
        "network_activity",
        frame(
            "network_activity",
            [flow(90, "10.0.1.1"), flow(91, "192.0.2.200"), flow(92, "192.0.2.200")],
        ),
    )
    assert learning.alerts == []
    assert [a.values["dst_endpoint.ip"] for a in later.alerts] == ["192.0.2.200"]


def test_late_events_go_back_with_a_reason_within_lateness_they_count(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: any\nkind: match\n" + COMMON + "class: authentication\ngroup_by: [user.name]\n",
    )
    engine.process("authentication", frame("authentication", [auth(360, "a", "u1")]))  # T0+1h
    result = engine.process(
        "authentication",
        frame("authentication", [auth(0, "a", "late"), auth(330, "a", "in_time")]),
    )
    assert result.late.get_column("user.name").to_list() == ["late"]
    assert "after the watermark" in result.late.get_column("_reason")[0]
    assert [a.entities["user"] for a in result.alerts] == ["in_time"]


def test_context_columns_store_closed_and_peak(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: closed\nkind: match\n" + COMMON + "class: pos_transaction\nwhere: {ctx.open: false}\n"
        "group_by: [transaction.uid]\n",
    )
    rows = [
        {"time": T0, "store.uid": "031", "transaction.uid": "noon"},  # 11:00 Chicago, open
        {"time": T0.replace(hour=9), "store.uid": "031", "transaction.uid": "3am"},
    ]
    result = engine.process("pos_transaction", frame("pos_transaction", rows))
    assert [a.values["transaction.uid"] for a in result.alerts] == ["3am"]
    added = engine.context.add(frame("pos_transaction", rows))
    assert added.get_column("ctx.peak").to_list() == [3, 3]  # Black Friday in the sample estate


def test_closed_minutes_is_the_distance_to_trading_hours(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: away\nkind: match\n"
        + COMMON
        + "class: pos_transaction\nwhere: {ctx.closed_minutes|gte: 60}\n"
        "group_by: [transaction.uid]\n",
    )
    store = load_sample_estate().store("031")
    day = store.local(T0).date()
    closes = max(end for _, end in store.hours_on(day))
    closed = datetime.combine(day, closes, store.tz).astimezone(UTC)
    rows = [
        {"time": T0, "store.uid": "031", "transaction.uid": "noon"},
        {"time": closed + timedelta(minutes=10), "store.uid": "031", "transaction.uid": "+10"},
        {"time": closed + timedelta(minutes=90), "store.uid": "031", "transaction.uid": "+90"},
        {"time": T0, "store.uid": "999", "transaction.uid": "unknown store"},
    ]
    added = engine.context.add(frame("pos_transaction", rows))
    assert added.get_column("ctx.closed_minutes").to_list() == [0.0, 10.0, 90.0, None]
    result = engine.process("pos_transaction", frame("pos_transaction", rows))
    assert [a.values["transaction.uid"] for a in result.alerts] == ["+90"]


def test_one_failing_rule_never_stops_the_others(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: ok\nkind: match\n" + COMMON + "class: authentication\n---\n"
        "id: broken\nkind: match\n" + COMMON + "class: authentication\n",
    )
    broken = next(rule for rule in engine.rules if rule.meta.uid == "broken")
    broken.run = lambda *args: 1 / 0  # type: ignore[method-assign]
    result = engine.process("authentication", frame("authentication", [auth(0, "a", "u")]))
    assert [a.rule.uid for a in result.alerts] == ["ok"]
    assert engine.health["broken"].errors == 1


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("id: x\nkind: nope\n" + COMMON, 2, "unknown rule kind 'nope'"),
        ("id: x\nkind: match\n" + COMMON + "class: authentication\nbogus: 1\n", 9, "unknown field"),
        (
            "id: x\nkind: threshold\n"
            + COMMON
            + "class: authentication\nwindow: 5 parsecs\ncondition: {gte: 1}\n",
            9,
            "window",
        ),
        (
            "id: x\nkind: distinct\n"
            + COMMON
            + "class: authentication\nfield: no.such\nwindow: 1m\ncondition: {gte: 1}\n",
            1,
            "no column 'no.such'",
        ),
        (
            "id: x\nkind: match\n"
            + COMMON.replace("{count}", "{count|nope}")
            + "class: authentication\n",
            7,
            "unknown filter",
        ),
        (
            "id: x\nkind: match\n"
            + COMMON
            + "class: authentication\nwhere: {a: 1, condition: b}\n",
            1,
            "where",
        ),
        ("id: x\nkind: match\n  bad: [\n", 3, "malformed YAML"),
        ("id: x\nkind: match\n" + COMMON + "class: device_inventory\n", 8, "unknown event class"),
    ],
)
def test_broken_rules_report_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    rules, errors = lint_rules([path])
    assert rules == []
    assert len(errors) == 1
    assert f"{path}:{line}" in str(errors[0])
    assert message in str(errors[0])


def test_lint_reports_every_broken_rule_at_once(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: a\nkind: nope\n" + COMMON)
    (tmp_path / "b.yaml").write_text(
        "id: b\nkind: match\n"
        + COMMON
        + "class: authentication\n---\nid: b\nkind: match\n"
        + COMMON
        + "class: authentication\n"
    )
    with pytest.raises(LintError) as caught:
        load_rules([tmp_path])
    assert len(caught.value.errors) == 2
    assert all(isinstance(error, RuleError) for error in caught.value.errors)
    assert "also used at" in str(caught.value)


def test_sigma_rule_runs_in_the_engine_next_to_native_rules(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        """title: Certutil download
id: 3a1f1b9e-0000-4000-8000-000000000001
status: test
level: high
tags: [attack.t1105]
logsource: {category: process_creation, product: windows}
detection:
  selection:
    Image|endswith: '\\certutil.exe'
    CommandLine|contains: urlcache
  condition: selection
""",
    )
    rows = [
        {
            "time": T0,
            "process.path": r"C:\\Windows\\System32\\CERTUTIL.EXE",
            "process.cmd_line": "certutil -urlcache -f http://x/a.exe",
            "device.hostname": "s031-bo-pc-01",
        },
        {
            "time": T0,
            "process.path": r"C:\\Windows\\notepad.exe",
            "process.cmd_line": "notepad urlcache",
            "device.hostname": "s031-bo-pc-01",
        },
    ]
    alerts = engine.process("process_activity", frame("process_activity", rows)).alerts
    assert len(alerts) == 1
    assert alerts[0].rule.attack == ("T1105",)


def test_the_retail_pack_loads_and_covers_its_use_cases() -> None:
    rules = load_pack()
    assert len(pack_files()) >= 6
    use_cases = {rule.meta.use_case for rule in rules}
    for wanted in (
        "pos_malware",
        "card_testing",
        "credential_stuffing",
        "sweethearting",
        "refund_fraud",
        "cashier_abuse",
        "sco_scan_avoidance",
        "iot_botnet",
        "rogue_firmware",
        "guest_wifi_scan",
        "bandwidth_hog",
        "ddos",
        "vendor_misuse",
        "impossible_travel",
        "segmentation_violation",
        "insider_after_hours",
        "organised_retail_crime",
    ):
        assert wanted in use_cases, wanted
    assert all(rule.meta.explanation and rule.meta.severity for rule in rules)


def test_count_rule_on_a_class_that_has_a_count_column(tmp_path: Path) -> None:
    engine = rules_from(
        tmp_path,
        "id: flows\nkind: threshold\n"
        + COMMON
        + "class: network_activity\ngroup_by: [src_endpoint.ip]\nwindow: 10m\ncondition: {gte: 3}\n",
    )
    rows = [{"time": T0, "src_endpoint.ip": "10.0.0.9", "count": 7} for _ in range(3)]
    alerts = engine.process("network_activity", frame("network_activity", rows)).alerts
    assert [a.values["count"] for a in alerts] == [3]  # the rule's count, not the event's


def test_new_value_learning_counts_from_the_stream_not_from_the_first_match(
    tmp_path: Path,
) -> None:
    """Tills never talk outside: the first match is the malware itself and must alert."""
    engine = rules_from(
        tmp_path,
        "id: pos_out\nkind: new_value\n"
        + COMMON
        + "class: network_activity\nwhere: {src_endpoint.zone: pos, dst_endpoint.zone: null}\n"
        "key: []\nvalue: [dst_endpoint.ip]\nlearn_for: 1h\n",
    )

    def flow(minutes: float, zone: str | None) -> dict[str, Any]:
        return {
            "time": T0 + timedelta(minutes=minutes),
            "src_endpoint.zone": "pos",
            "dst_endpoint.zone": zone,
            "dst_endpoint.ip": "10.0.43.5" if zone else "203.0.113.9",
        }

    inside = [flow(m, "cardholder_data") for m in range(0, 120, 10)]
    assert engine.process("network_activity", frame("network_activity", inside)).alerts == []
    out = engine.process("network_activity", frame("network_activity", [flow(125, None)]))
    assert [a.values["dst_endpoint.ip"] for a in out.alerts] == ["203.0.113.9"]


FLOOD = (
    "id: flood\nkind: threshold\n"
    + COMMON
    + "class: network_activity\ngroup_by: [dst_endpoint.ip]\naggregate: sum\n"
    "field: traffic.bytes_in\nwindow: 1m\ncondition: {gte: 1000}\nsuppress: 30m\n"
)


def flows(start_s: int, end_s: int, size: int, every_s: int = 5) -> list[dict[str, Any]]:
    """One flow toward the shop every `every_s` seconds from `start_s` to before `end_s`."""
    return [
        {
            "time": T0 + timedelta(seconds=second),
            "dst_endpoint.ip": "198.51.100.10",
            "traffic.bytes_in": size,
        }
        for second in range(start_s, end_s, every_s)
    ]


def flood_alerts(tmp_path: Path, options: str, batches: list[list[dict[str, Any]]]) -> list[Any]:
    engine = rules_from(tmp_path, FLOOD + options)
    found = []
    for rows in batches:
        found += engine.process("network_activity", frame("network_activity", rows)).alerts
    return found


def test_escalate_alerts_again_when_a_second_flood_lands_on_the_first(tmp_path: Path) -> None:
    """100 B every 5 s is 1,200 B a minute; a second flood from 600 s makes it 2,400."""
    one = flows(0, 1200, 100)
    two = flows(602, 1200, 100)
    rows = sorted(one + two, key=lambda row: row["time"])
    halves = [[r for r in rows if r["time"] < T0 + timedelta(seconds=s)] for s in (300, 1200)]
    batches = [halves[0], [r for r in halves[1] if r not in halves[0]]]
    plain = flood_alerts(tmp_path, "", batches)
    assert [a.time for a in plain] == [T0 + timedelta(seconds=45)]  # the 10th flow: 1,000 B
    grown = flood_alerts(tmp_path, "escalate: 1.5\n", batches)
    # The steady first flood never reaches 1.5 x its 1,200 B; the second one does when
    # the window holds 1,800 B: 12 flows of the first and 6 of the second, at 627 s.
    assert [a.time for a in grown] == [T0 + timedelta(seconds=45), T0 + timedelta(seconds=627)]
    assert grown[1].values["sum"] >= 1800


def test_rearm_alerts_for_a_new_burst_after_the_first_one_ended(tmp_path: Path) -> None:
    """Two bursts 10 minutes apart with a trickle between: one alert each with `rearm`."""
    rows = flows(0, 120, 100) + flows(120, 720, 10, every_s=30) + flows(720, 840, 100)
    plain = flood_alerts(tmp_path, "", [rows])
    assert [a.time for a in plain] == [T0 + timedelta(seconds=45)]
    rearmed = flood_alerts(tmp_path, "rearm: true\n", [rows])
    assert [a.time for a in rearmed] == [
        T0 + timedelta(seconds=45),
        T0 + timedelta(seconds=765),
    ]
    steady = flood_alerts(tmp_path, "rearm: true\n", [flows(0, 600, 100), flows(600, 1200, 100)])
    assert len(steady) == 1  # a burst that goes on is one alert, over batches too


def test_the_pack_flags_a_shelf_sweep_and_guest_file_sharing_at_their_first_event() -> None:
    """The first trace of a crew and of a bandwidth hog raise alerts, the look-alikes do not."""
    engine = Engine(load_pack(), load_sample_estate())
    shelf = {"store.uid": "031", "device.uid": "s031-shelf-02", "device.type": "smart_shelf"}
    inventory = [
        {**shelf, "time": T0, "activity_name": "Collect"},
        {**shelf, "time": T0 + timedelta(minutes=1), "activity_name": "restock"},
        {**shelf, "time": T0 + timedelta(minutes=2), "activity_name": "stock_drop"},
    ]
    alerts = engine.process("inventory_info", frame("inventory_info", inventory)).alerts
    assert [(a.rule.uid, a.time) for a in alerts] == [
        ("vigil.pos.shelf_sweep", T0 + timedelta(minutes=2))
    ]
    assert alerts[0].entities["device"] == "s031-shelf-02"
    guest = {
        "metadata.product.name": "Zeek",
        "store.uid": "031",
        "src_endpoint.ip": "10.0.13.40",
        "src_endpoint.zone": "guest_wifi",
        "dst_endpoint.ip": "198.51.100.7",
        "traffic.bytes_in": 40_000_000,
    }
    network = [
        {**guest, "time": T0 + timedelta(minutes=3), "dst_endpoint.port": 443},
        {**guest, "time": T0 + timedelta(minutes=4), "dst_endpoint.port": 6881},
        {**guest, "time": T0 + timedelta(minutes=5), "dst_endpoint.port": 6885},
    ]
    alerts = engine.process("network_activity", frame("network_activity", network)).alerts
    assert [(a.rule.uid, a.time) for a in alerts] == [
        ("vigil.net.guest_file_sharing", T0 + timedelta(minutes=4))
    ]


def test_a_destination_is_new_for_the_estate_not_for_each_till() -> None:
    """The pack's POS rule learns estate-wide: tills share payment and cloud endpoints, so a
    till's first call to one that other tills already use is not news; a destination no
    till has contacted is."""
    engine = Engine(load_pack(), load_sample_estate())
    till = {
        "metadata.product.name": "Zeek",
        "store.uid": "031",
        "src_endpoint.zone": "pos",
        "dst_endpoint.port": 443,
    }
    learning = [
        {**till, "time": T0, "src_endpoint.uid": "s031-pos-01", "dst_endpoint.ip": "52.94.236.248"}
    ]
    engine.process("network_activity", frame("network_activity", learning))
    calls = [
        {**till, "time": T0 + timedelta(hours=13, minutes=m), "src_endpoint.uid": uid, "dst_endpoint.ip": ip}
        for m, uid, ip in (
            (0, "s031-pos-02", "52.94.236.248"),  # the payment endpoint, new for this till only
            (1, "s031-pos-02", "203.0.113.9"),  # no till has called this one
        )
    ]  # fmt: skip
    alerts = engine.process("network_activity", frame("network_activity", calls)).alerts
    found = [(a.rule.uid, a.entities["device"], a.entities["ip"]) for a in alerts]
    assert found == [("vigil.pos.new_destination", "s031-pos-02", "203.0.113.9")]


def test_the_pack_flood_rule_sums_what_the_sources_sent() -> None:
    """NetFlow's input bytes are what the source sent (`traffic.bytes_out`): a reflection
    flood toward the shop is counted there; a guest's 3 GB a minute download is no flood."""
    engine = Engine(load_pack(), load_sample_estate())

    def flow(second: int, dst: str, size: int) -> dict[str, Any]:
        return {
            "time": T0 + timedelta(seconds=second),
            "metadata.product.name": "nfdump",
            "src_endpoint.ip": f"192.0.2.{second % 250}",
            "dst_endpoint.ip": dst,
            "traffic.bytes_out": size,
            "traffic.bytes_in": 0,
        }

    hog = [flow(s, "10.0.13.40", 500_000_000) for s in range(0, 60, 10)]
    flood = [flow(s, "198.51.100.80", 1_000_000_000) for s in range(60, 120, 10)]
    alerts = engine.process("network_activity", frame("network_activity", hog + flood)).alerts
    assert [(a.rule.uid, a.time) for a in alerts] == [
        ("vigil.net.ddos_flood", T0 + timedelta(seconds=100))
    ]
