"""Rules that ask an ML detector: per event (`detector`) and per key and period (`baseline`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from vigil.detect.engine import Engine
from vigil.detect.loader import lint_rules, load_rules
from vigil.detect.rules.base import class_schema

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HEAD = """id: r
title: t
use_case: test
severity: medium
explanation: "{src_endpoint.uid} {cashier.uid} {drift} {metric}"
"""


def frame(event_class: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = class_schema(event_class)
    columns = [c for c in schema if not c.startswith("ctx.")]
    return pl.DataFrame(
        {c: [row.get(c) for row in rows] for c in columns}, schema={c: schema[c] for c in columns}
    )


def engine(tmp_path: Path, text: str) -> Engine:
    path = tmp_path / "r.yaml"
    path.write_text(HEAD + text)
    return Engine(load_rules([path]), lateness=timedelta(0))


def flow(minutes: float, dst: str, device: str = "s001-cam-01") -> dict[str, Any]:
    return {
        "time": T0 + timedelta(minutes=minutes),
        "src_endpoint.uid": device,
        "src_endpoint.ip": "10.0.12.11",
        "dst_endpoint.ip": dst,
        "dst_endpoint.port": 443,
        "traffic.bytes": 1000,
    }


def test_detector_rule_learns_in_warmup_then_flags_a_new_destination(tmp_path: Path) -> None:
    rules = engine(
        tmp_path,
        "kind: detector\nclass: network_activity\n"
        "detector: {type: device_profile, device: src_endpoint.uid, bytes: traffic.bytes}\n"
        "threshold: 5\nwarmup: 1h\ngroup_by: [src_endpoint.uid]\n",
    )
    normal = [flow(m, "34.120.10.5") for m in range(0, 120, 5)]
    assert rules.process("network_activity", frame("network_activity", normal)).alerts == []
    later = [flow(125, "34.120.10.5"), flow(126, "198.51.100.190")]
    alerts = rules.process("network_activity", frame("network_activity", later)).alerts
    assert [a.values["dst_endpoint.ip"] for a in alerts] == ["198.51.100.190"]
    assert alerts[0].values["drift"] == "new_destination"
    assert 0.5 <= alerts[0].score <= 1.0


def test_detector_rule_does_not_learn_what_it_flags(tmp_path: Path) -> None:
    rules = engine(
        tmp_path,
        "kind: detector\nclass: network_activity\n"
        "detector: {type: device_profile, device: src_endpoint.uid, bytes: traffic.bytes}\n"
        "threshold: 5\nwarmup: 1h\ngroup_by: [src_endpoint.uid]\nsuppress: 1s\n",
    )
    rules.process(
        "network_activity",
        frame("network_activity", [flow(m, "34.120.10.5") for m in range(0, 120, 5)]),
    )
    first = rules.process(
        "network_activity", frame("network_activity", [flow(130, "198.51.100.190")])
    )
    again = rules.process(
        "network_activity", frame("network_activity", [flow(140, "198.51.100.190")])
    )
    assert len(first.alerts) == 1
    assert len(again.alerts) == 1  # still new: the flagged flow was not learned as normal


def sale(minutes: float, cashier: str, activity: str = "Sale") -> dict[str, Any]:
    return {
        "time": T0 + timedelta(minutes=minutes),
        "store.uid": "001",
        "cashier.uid": cashier,
        "activity_name": activity,
        "transaction.is_self_checkout": False,
    }


PEERS = """kind: baseline
class: pos_transaction
group_by: [store.uid, cashier.uid]
bucket: 8h
measures:
  transactions: {}
  no_sales: {activity_name: No Sale}
detector: {type: peer_group, metrics: [no_sales], transactions: transactions, group: [store.uid, period]}
threshold: 6
warmup: 0s
"""


def test_baseline_rule_flags_the_cashier_far_above_peers_when_the_period_closes(
    tmp_path: Path,
) -> None:
    rules = engine(tmp_path, PEERS)
    rows = [sale(m, f"00100{c}") for c in range(1, 7) for m in range(0, 400, 10)]
    rows += [sale(m + 1, "001006", "No Sale") for m in range(0, 400, 40)]  # ten no-sales
    rows += [sale(200, "001002", "No Sale")]  # one, like anyone
    during = rules.process("pos_transaction", frame("pos_transaction", rows))
    assert during.alerts == []  # the 8 h period is not over yet
    closed = rules.process(
        "pos_transaction", frame("pos_transaction", [sale(8 * 60 + 5, "001001")])
    )
    assert [a.entities["cashier"] for a in closed.alerts] == ["001006"]
    alert = closed.alerts[0]
    assert alert.values["metric"] == "no_sales"
    assert alert.time == T0 + timedelta(hours=8)  # known when the period closed


def test_bad_detector_config_is_a_rule_error_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        HEAD
        + PEERS.replace("threshold: 6", "threshold: 6")
        .replace("min_peers", "x")
        .replace("group: [store.uid, period]}", "group: [store.uid, period], bogus: 1}")
    )
    rules, errors = lint_rules([path])
    assert rules == []
    assert len(errors) == 1
    assert str(path) in str(errors[0])
    assert "bogus" in str(errors[0])
