from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest

from vigil.sim import ScenarioParams, SimError, World, generate_estate, scenarios, simulate
from vigil.sim.scenarios.iot import BACKDOOR, C2, C2_NAME, ROLLOUT_VERSION, UPDATE_SERVER
from vigil.sim.sources.network import ZeekConnSource

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# Pinned so that no attack lands in the store that opens late (003).
CHOSEN = {
    "iot_botnet": "001",
    "rogue_firmware": "002",
    "firmware_rollout": None,
    "guest_wifi_scan": "002",
    "bandwidth_hog": "001",
    "store_opening": "003",
}


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate_estate(3, seed=21), START, days=2, seed=21)


@pytest.fixture(scope="module")
def run(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("devices")
    chosen = [scenarios.get(name)(ScenarioParams(store=store)) for name, store in CHOSEN.items()]
    simulate(world, chosen, out)
    return out


@pytest.fixture(scope="module")
def truth(run: Path) -> dict[str, dict[str, Any]]:
    records = map(json.loads, (run / "truth.jsonl").read_text().splitlines())
    return {record["scenario"]: record for record in records}


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _iot(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "iot" / "mqtt.jsonl").read_text().splitlines()]


def _conn(run: Path) -> pl.DataFrame:
    return pl.read_csv(
        run / "zeek" / "conn.log",
        separator="\t",
        comment_prefix="#",
        has_header=False,
        new_columns=[name for name in ZeekConnSource.schema if name != "store"],
    )


def _radius(run: Path) -> list[dict[str, str]]:
    records = []
    for block in (run / "wifi" / "radius-detail.log").read_text().split("\n\n"):
        lines = block.strip().splitlines()
        if lines:
            pairs = (line.strip().partition(" = ") for line in lines[1:])
            records.append({key: value.strip('"') for key, _, value in pairs})
    return records


def _heartbeats(messages: list[dict[str, Any]], device: str) -> list[tuple[float, dict[str, Any]]]:
    return [
        (_seconds(m["ts"]), m["payload"])
        for m in messages
        if m["payload"]["msg"] == "heartbeat" and m["payload"]["device"] == device
    ]


def test_botnet_scans_telnet_beacons_and_burns_cpu(
    run: Path, truth: dict[str, dict[str, Any]]
) -> None:
    record = truth["iot_botnet"]
    start, end = _seconds(record["start"]), _seconds(record["end"])
    first = record["entities"]["device"][0]
    ip = record["entities"]["ip"][0]
    conn = _conn(run).filter(pl.col("orig_h") == ip)
    telnet = conn.filter(pl.col("resp_p").is_in([23, 2323]) & (pl.col("resp_h") != C2))
    assert telnet.height > 5000
    assert (telnet["conn_state"] == "S0").mean() > 0.8  # type: ignore[operator]
    beacons = np.sort(conn.filter(pl.col("resp_h") == C2)["ts"].to_numpy())
    assert abs(float(np.median(np.diff(beacons))) - 60) < 5
    dns = (run / "zeek" / "dns.log").read_text()
    assert dns.count(C2_NAME) >= len(beacons) // 10
    beats = _heartbeats(_iot(run), first)
    before = [p["cpu_pct"] for t, p in beats if t < start]
    during = [p for t, p in beats if start <= t <= end]
    assert during
    assert min(p["cpu_pct"] for p in during) >= 85
    assert min(p["connections"] for p in during) >= 150
    assert not before or max(before) < 80


def test_rogue_firmware_changes_one_device_after_its_reboot(
    run: Path, world: World, truth: dict[str, dict[str, Any]]
) -> None:
    record = truth["rogue_firmware"]
    camera, _pc = record["entities"]["device"]
    messages = _iot(run)
    change = next(
        m["payload"]
        for m in messages
        if m["payload"].get("event") == "firmware_changed" and m["payload"]["device"] == camera
    )
    assert change["method"] == "local_upload"
    boot = next(
        _seconds(m["ts"])
        for m in messages
        if m["payload"].get("event") == "boot" and m["payload"]["device"] == camera
    )
    beats = _heartbeats(messages, camera)
    after = [p for t, p in beats if t >= boot and t < boot + 3600]
    before = [p for t, p in beats if t < boot]
    assert {p["firmware"] for p in after} == {change["to"]}
    assert {p["firmware"] for p in before} == {change["from"]}
    assert after[0]["uptime_s"] < 120 < before[-1]["uptime_s"]
    uploads = _conn(run).filter(
        (pl.col("orig_h") == record["entities"]["ip"][1])
        & (pl.col("resp_h") == record["entities"]["ip"][0])
    )
    assert uploads["orig_bytes"].max() > 20_000_000  # type: ignore[operator]
    assert _conn(run).filter(pl.col("resp_h") == BACKDOOR).height > 10
    upload = _seconds(record["start"])
    store = world.estate.store(record["stores"][0])
    assert not world.estate.is_open(store, datetime.fromtimestamp(upload, UTC))


def test_rollout_updates_every_camera_in_the_night_from_the_vendor(
    run: Path, world: World, truth: dict[str, dict[str, Any]]
) -> None:
    record = truth["firmware_rollout"]
    assert record["label"] == "benign"
    cameras = {a.uid for s in world.estate.stores for a in s.assets if a.kind == "camera"}
    assert set(record["entities"]["device"]) == cameras
    messages = _iot(run)
    version = ROLLOUT_VERSION["camera"]  # type: ignore[index]
    for message in messages:
        payload = message["payload"]
        if payload.get("event") == "firmware_changed" and payload["to"] == version:
            store = world.estate.store(message["topic"].split("/")[1])
            local = store.local(datetime.fromtimestamp(_seconds(message["ts"]), UTC))
            assert 2 <= local.hour < 4
            assert payload["method"] == "ota"
    last = {
        p["device"]: p["firmware"]
        for _, p in sorted(
            (
                (_seconds(m["ts"]), m["payload"])
                for m in messages
                if m["payload"]["msg"] == "heartbeat"
            ),
            key=lambda item: item[0],
        )
    }
    assert {last[c] for c in cameras if c in last} == {version}
    downloads = _conn(run).filter(pl.col("resp_h") == UPDATE_SERVER)
    opening = _seconds(truth["store_opening"]["start"])
    late = {a.uid for a in world.estate.store("003").assets if a.kind == "camera"}
    updates = [
        _seconds(m["ts"])
        for m in messages
        if m["payload"].get("event") == "firmware_changed" and m["payload"]["device"] in late
    ]
    online = len(cameras - late) + sum(t >= opening for t in updates)
    assert downloads.height == online  # a store that has not opened yet downloads nothing


def test_guest_scan_is_denied_and_tied_to_a_radius_session(
    run: Path, truth: dict[str, dict[str, Any]]
) -> None:
    record = truth["guest_wifi_scan"]
    (ip,), (mac,) = record["entities"]["ip"], record["entities"]["mac"]
    sessions = [r for r in _radius(run) if r.get("Calling-Station-Id") == mac]
    assert {r["Acct-Status-Type"] for r in sessions} >= {"Start", "Stop"}
    assert {r["Framed-IP-Address"] for r in sessions} == {ip}
    conn = _conn(run).filter(pl.col("orig_h") == ip)
    assert conn.select(pl.col("resp_h").n_unique()).item() > 1000
    firewall = [
        line
        for line in (run / "firewall" / "fortigate.log").read_text().splitlines()
        if f"srcip={ip} " in line
    ]
    inward = [line for line in firewall if 'dstintf="wan1"' not in line]
    assert len(inward) > 1000
    assert all('action="deny"' in line for line in inward)
    dns = (run / "zeek" / "dns.log").read_text().splitlines()
    assert sum(f"\t{ip}\t" in line and "\tPTR\t" in line for line in dns) > 1000


def test_bandwidth_hog_moves_tens_of_gigabytes(run: Path, truth: dict[str, dict[str, Any]]) -> None:
    record = truth["bandwidth_hog"]
    (ip,), (mac,) = record["entities"]["ip"], record["entities"]["mac"]
    stop = next(
        r
        for r in _radius(run)
        if r.get("Calling-Station-Id") == mac and r["Acct-Status-Type"] == "Stop"
    )
    octets = int(stop["Acct-Output-Octets"]) + int(stop["Acct-Output-Gigawords"]) * 2**32
    assert octets > 40e9
    received = _conn(run).filter(pl.col("orig_h") == ip)["resp_bytes"].sum()
    assert 0.9 * octets < received < 1.1 * octets


def test_a_new_store_is_silent_until_it_opens(
    run: Path, world: World, truth: dict[str, dict[str, Any]]
) -> None:
    record = truth["store_opening"]
    (uid,) = record["stores"]
    opening = _seconds(record["start"])
    store = world.estate.store(uid)
    addresses = {a.ip for a in store.assets if a.ip}
    conn = _conn(run)
    mine = conn.filter(pl.col("orig_h").is_in(addresses) | pl.col("resp_h").is_in(addresses))
    assert mine.height > 1000
    assert mine["ts"].min() >= opening  # type: ignore[operator]
    pos = [
        json.loads(line) for line in (run / "pos" / "transactions.jsonl").read_text().splitlines()
    ]
    sales = [_seconds(p["ts"]) for p in pos if p["store"] == uid]
    assert sales
    assert min(sales) >= opening
    assert opening - world.span.start > 12 * 3600  # a day of silence came before


def test_device_scenarios_need_their_devices(world: World) -> None:
    bare = World(generate_estate(1, seed=2).model_copy(deep=True), START, days=1, seed=2)
    store = bare.estate.stores[0]
    object.__setattr__(store, "assets", [a for a in store.assets if a.kind != "camera"])
    with pytest.raises(SimError, match="has no camera"):
        scenarios.get("iot_botnet")(ScenarioParams(store=store.uid)).inject(bare)
    with pytest.raises(SimError, match="lacks a camera"):
        scenarios.get("rogue_firmware")(ScenarioParams(store=store.uid)).inject(bare)
