from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest

from vigil.estate import Store
from vigil.estate.types import Asset, AssetKind
from vigil.sim import World, generate_estate
from vigil.sim.sources.endpoint import (
    INTERVAL,
    EndpointSource,
    osquery_line,
    query_run,
    scheduled_line,
)
from vigil.sim.sources.iot import (
    KINDS,
    IotSource,
    boot_line,
    event_line,
    firmware_changed_line,
    heartbeat_line,
)
from vigil.sim.types import JsonLinesSource

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday, 03:00 in New York
HEARTBEAT_KEYS = {
    "msg",
    "device",
    "kind",
    "vendor",
    "model",
    "firmware",
    "ip",
    "mac",
    "uptime_s",
    "cpu_pct",
    "mem_pct",
    "connections",
    "readings",
}
READINGS = {
    "camera": {"recording", "fps", "bitrate_kbps"},
    "nvr": {"recording", "channels", "storage_used_pct", "disk_health"},
    "smart_shelf": {"stock_pct", "weight_kg"},
    "hvac": {"temp_c", "setpoint_c", "humidity_pct", "mode"},
    "sensor": {"temp_c", "humidity_pct"},
    "iot_gateway": {"clients", "msgs_per_min"},
    "door_controller": {"doors_online", "tamper"},
    "alarm_panel": {"armed", "ac_power", "battery_v"},
}
OSQUERY_KEYS = [
    "name",
    "hostIdentifier",
    "calendarTime",
    "unixTime",
    "epoch",
    "counter",
    "numerics",
    "decorations",
    "columns",
    "action",
]
COLUMNS = {
    "pack_vigil_process_events": {
        "pid",
        "parent",
        "path",
        "name",
        "cmdline",
        "cwd",
        "uid",
        "auid",
        "time",
    },
    "pack_vigil_logged_in_users": {"type", "user", "tty", "host", "time", "pid"},
    "pack_vigil_file_events": {
        "target_path",
        "category",
        "action",
        "transaction_id",
        "inode",
        "uid",
        "size",
        "time",
    },
}


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate_estate(2, seed=3), START, days=1, seed=3)


@pytest.fixture(scope="module")
def store(world: World) -> Store:
    return world.estate.stores[0]


@pytest.fixture(scope="module")
def iot(world: World, store: Store) -> pl.DataFrame:
    return IotSource().generate(world, store).sort("ts", maintain_order=True)


@pytest.fixture(scope="module")
def messages(iot: pl.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(line) for line in iot["line"]]


@pytest.fixture(scope="module")
def osquery(world: World, store: Store) -> pl.DataFrame:
    return EndpointSource().generate(world, store).sort("ts", maintain_order=True)


@pytest.fixture(scope="module")
def results(osquery: pl.DataFrame) -> list[dict[str, Any]]:
    return [json.loads(line) for line in osquery["line"]]


def _assets(store: Store) -> dict[str, Asset]:
    return {asset.uid: asset for asset in store.assets}


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _heartbeats(messages: list[dict[str, Any]], device: str) -> list[dict[str, Any]]:
    return [
        m
        for m in messages
        if m["payload"]["msg"] == "heartbeat" and m["payload"]["device"] == device
    ]


def _device(store: Store, kind: AssetKind) -> Asset:
    return next(asset for asset in store.assets if asset.kind == kind)


def test_iot_lines_are_mqtt_messages_in_the_documented_shape(
    iot: pl.DataFrame, messages: list[dict[str, Any]], store: Store
) -> None:
    assets = _assets(store)
    assert set(iot.columns) == {"ts", "store", "line"}
    assert iot["store"].unique().to_list() == [store.uid]
    topic = re.compile(rf"^stores/{store.uid}/iot/(?P<device>[\w-]+)/(?P<leaf>telemetry|events)$")
    for ts, message in zip(iot["ts"], messages, strict=True):
        assert list(message) == ["ts", "topic", "payload"]
        assert _epoch(message["ts"]) == pytest.approx(ts, abs=0.0011)
        match = topic.match(message["topic"])
        assert match is not None
        payload = message["payload"]
        asset = assets[payload["device"]]
        assert match["device"] == asset.uid
        assert asset.kind in KINDS
        assert payload["kind"] == asset.kind.value
        if payload["msg"] == "heartbeat":
            assert match["leaf"] == "telemetry"
            assert set(payload) == HEARTBEAT_KEYS
            assert set(payload["readings"]) == READINGS[asset.kind.value]
            assert 0 < payload["cpu_pct"] < 100
            assert 0 < payload["mem_pct"] < 100
        else:
            assert match["leaf"] == "events"
            assert payload["msg"] == "event"
            assert {"event", "firmware"} <= set(payload)
    kinds = {m["payload"]["kind"] for m in messages}
    assert kinds == {asset.kind.value for asset in store.assets if asset.kind in KINDS}


def test_heartbeats_come_every_minute_from_every_device(
    messages: list[dict[str, Any]], store: Store
) -> None:
    for asset in store.assets:
        if asset.kind not in KINDS:
            continue
        times = np.array([_epoch(m["ts"]) for m in _heartbeats(messages, asset.uid)])
        gaps = np.diff(times)
        assert len(times) > 1400, asset.uid
        assert abs(float(np.median(gaps)) - 60) < 1
        assert gaps.min() > 55


def test_heartbeats_report_the_approved_firmware_and_addresses(
    messages: list[dict[str, Any]], store: Store
) -> None:
    assets = _assets(store)
    for message in messages:
        payload = message["payload"]
        asset = assets[payload["device"]]
        assert payload["firmware"] == asset.firmware
        if payload["msg"] == "heartbeat":
            assert (payload["ip"], payload["mac"]) == (asset.ip, asset.mac)


def test_uptime_grows_with_the_clock_until_a_reboot(
    messages: list[dict[str, Any]], store: Store
) -> None:
    rebooted = {m["payload"]["device"] for m in messages if m["payload"].get("event") == "boot"}
    steady = [a for a in store.assets if a.kind in KINDS and a.uid not in rebooted]
    assert steady
    for asset in steady:
        beats = _heartbeats(messages, asset.uid)
        clock = np.diff([_epoch(m["ts"]) for m in beats])
        uptime = np.diff([m["payload"]["uptime_s"] for m in beats])
        assert np.all(np.abs(uptime - clock) <= 1)
        assert beats[0]["payload"]["uptime_s"] > 86400


def _trading_values(
    world: World, store: Store, beats: list[dict[str, Any]], reading: str
) -> list[tuple[float, float]]:
    """(first, last) value of a reading inside each trading span."""
    spans = []
    for span in world.trading(store):
        inside = [
            b["payload"]["readings"][reading]
            for b in beats
            if span.start <= _epoch(b["ts"]) < span.end
        ]
        spans.append((inside[0], inside[-1]))
    return spans


def test_shelf_stock_sells_down_while_trading_and_is_restocked(
    world: World, store: Store, messages: list[dict[str, Any]]
) -> None:
    shelf = _device(store, AssetKind.SMART_SHELF)
    beats = _heartbeats(messages, shelf.uid)
    spans = _trading_values(world, store, beats, "stock_pct")
    assert spans
    for first, last in spans:
        assert last < first - 20
    (span,) = world.trading(store)
    stock = [
        b["payload"]["readings"]["stock_pct"]
        for b in beats
        if span.start <= _epoch(b["ts"]) < span.end
    ]
    assert all(later <= earlier for earlier, later in itertools.pairwise(stock))
    restocks = [
        m
        for m in messages
        if m["payload"].get("event") == "restock" and m["payload"]["device"] == shelf.uid
    ]
    assert len(restocks) == 1
    after = [b for b in beats if _epoch(b["ts"]) > _epoch(restocks[0]["ts"])]
    assert after[0]["payload"]["readings"]["stock_pct"] > stock[-1] + 20
    assert after[0]["payload"]["readings"]["stock_pct"] >= 95


def test_hvac_and_alarm_follow_the_store_day(
    world: World, store: Store, messages: list[dict[str, Any]]
) -> None:
    (span,) = world.trading(store)
    middle = (span.start + span.end) / 2
    night = span.start - 4 * 3600
    hvac = _heartbeats(messages, _device(store, AssetKind.HVAC).uid)
    alarm = _heartbeats(messages, _device(store, AssetKind.ALARM_PANEL).uid)

    def at(beats: list[dict[str, Any]], moment: float) -> dict[str, Any]:
        readings: dict[str, Any] = min(beats, key=lambda b: abs(_epoch(b["ts"]) - moment))[
            "payload"
        ]["readings"]
        return readings

    assert at(hvac, middle)["setpoint_c"] == 21.0
    assert abs(at(hvac, middle)["temp_c"] - 21.0) < 1
    assert at(hvac, night)["setpoint_c"] == 16.0
    assert at(alarm, middle)["armed"] is False
    assert at(alarm, night)["armed"] is True


def test_iot_helpers_write_what_the_generator_writes(
    messages: list[dict[str, Any]], iot: pl.DataFrame, store: Store
) -> None:
    assets = _assets(store)
    lines = iot["line"].to_list()
    checked = set()
    for line, message in zip(lines, messages, strict=True):
        payload = message["payload"]
        kind = payload["kind"]
        ts = _epoch(message["ts"])
        asset = assets[payload["device"]]
        if payload["msg"] == "heartbeat" and kind not in checked:
            checked.add(kind)
            again = heartbeat_line(
                ts,
                store.uid,
                asset,
                uptime_s=payload["uptime_s"],
                cpu_pct=payload["cpu_pct"],
                mem_pct=payload["mem_pct"],
                connections=payload["connections"],
                readings=payload["readings"],
            )
            assert again == line
        elif payload["msg"] == "event":
            details = {
                k: v
                for k, v in payload.items()
                if k not in {"msg", "device", "kind", "event", "firmware"}
            }
            assert event_line(ts, store.uid, asset, payload["event"], details) == line
    assert len(checked) == len(READINGS) - 1  # every kind but sensor (the stores have none)


def test_scenario_helpers_report_boots_and_firmware_changes(store: Store) -> None:
    camera = _device(store, AssetKind.CAMERA)
    moment = START.timestamp() + 3600.25
    changed = json.loads(firmware_changed_line(moment, store.uid, camera, "6.50.1-rogue"))
    assert changed["ts"] == "2026-11-23T09:00:00.250Z"
    assert changed["topic"] == f"stores/{store.uid}/iot/{camera.uid}/events"
    assert changed["payload"] == {
        "msg": "event",
        "device": camera.uid,
        "kind": "camera",
        "event": "firmware_changed",
        "firmware": "6.50.1-rogue",
        "from": camera.firmware,
        "to": "6.50.1-rogue",
        "method": "ota",
    }
    boot = json.loads(boot_line(moment, store.uid, camera, firmware="6.50.1-rogue"))
    assert boot["payload"]["event"] == "boot"
    assert boot["payload"]["firmware"] == "6.50.1-rogue"
    busy = json.loads(
        heartbeat_line(
            moment,
            store.uid,
            camera,
            uptime_s=120,
            cpu_pct=97.26,
            mem_pct=88.0,
            connections=412,
            firmware="6.50.1-rogue",
        )
    )["payload"]
    assert set(busy) == HEARTBEAT_KEYS
    assert (busy["cpu_pct"], busy["connections"], busy["firmware"]) == (97.3, 412, "6.50.1-rogue")


def _calendar(text: str) -> float:
    return datetime.strptime(text, "%a %b %d %H:%M:%S %Y UTC").replace(tzinfo=UTC).timestamp()


def test_osquery_lines_are_differential_results(
    osquery: pl.DataFrame, results: list[dict[str, Any]], store: Store
) -> None:
    hosts = {a.uid for a in store.assets if a.kind in {"pos_terminal", "self_checkout"}}
    hosts |= {a.uid for a in store.assets if a.kind in {"workstation", "server"}}
    assert {r["hostIdentifier"] for r in results} == hosts
    for ts, result in zip(osquery["ts"], results, strict=True):
        assert list(result) == OSQUERY_KEYS
        assert result["unixTime"] == int(ts)
        assert _calendar(result["calendarTime"]) == result["unixTime"]
        assert (result["epoch"], result["numerics"]) == (0, False)
        assert result["decorations"]["hostname"] == result["hostIdentifier"]
        assert re.fullmatch(
            r"[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}", result["decorations"]["host_uuid"]
        )
        assert result["action"] in {"added", "removed"}
        columns = result["columns"]
        assert set(columns) == COLUMNS[result["name"]]
        assert all(isinstance(value, str) for value in columns.values())
        query = result["name"].removeprefix("pack_vigil_")
        delay = result["unixTime"] - int(columns["time"])
        if result["action"] == "added":  # a removed logon still says when it logged on
            assert 0 <= delay <= INTERVAL[query]
        else:
            assert delay > INTERVAL[query]


def test_calendar_time_pads_the_day_like_asctime(world: World) -> None:
    moment = datetime(2026, 11, 2, 16, 0, 5, tzinfo=UTC).timestamp()
    line = json.loads(osquery_line(moment, "s001-pos-01", "process_events", {"pid": 7}, 3))
    assert line["calendarTime"] == "Mon Nov  2 16:00:05 2026 UTC"
    assert line["columns"] == {"pid": "7"}
    assert line["counter"] == 3


def test_osquery_helpers_write_what_the_generator_writes(
    world: World, osquery: pl.DataFrame, results: list[dict[str, Any]]
) -> None:
    for line, result in zip(osquery["line"], results, strict=True):
        host, query = result["hostIdentifier"], result["name"].removeprefix("pack_vigil_")
        columns, action = result["columns"], result["action"]
        run, counter = result["unixTime"], result["counter"]
        assert osquery_line(run, host, query, columns, counter, action) == line
        if action == "added":
            happened = int(columns["time"])
            assert query_run(world, happened, host, query) == (run, counter)
            assert scheduled_line(world, happened, host, query, columns, action) == (run, line)


def test_tills_start_their_stack_before_opening(
    world: World, store: Store, results: list[dict[str, Any]]
) -> None:
    (span,) = world.trading(store)
    till = _device(store, AssetKind.POS_TERMINAL)
    started = [
        r["columns"]
        for r in results
        if r["hostIdentifier"] == till.uid and r["name"] == "pack_vigil_process_events"
    ]
    names = {c["name"]: int(c["time"]) for c in started}
    for daemon in ("posapp", "payment-svc", "pos-updater", "cron"):
        assert span.start - 3600 < names[daemon] < span.start
    pids = [int(c["pid"]) for c in started]
    assert pids == sorted(pids)
    known = {1, *pids}
    assert all(int(c["parent"]) in known for c in started)
    assert 50 <= len(started) <= 400
    files = [
        r["columns"]
        for r in results
        if r["hostIdentifier"] == till.uid and r["name"] == "pack_vigil_file_events"
    ]
    rotated = [(c["target_path"], c["action"]) for c in files if c["category"] == "pos_logs"]
    assert rotated == [
        ("/var/log/pos/posapp.log", "MOVED_FROM"),
        ("/var/log/pos/posapp.log.1", "MOVED_TO"),
        ("/var/log/pos/posapp.log", "CREATED"),
    ]
    assert all(int(c["time"]) < span.start for c in files if c["category"] == "pos_logs")
    assert {c["target_path"] for c in files if c["category"] == "pos_app"} == {
        "/opt/pos/data/prices.db"
    }


def test_managers_log_on_to_the_back_office_pc_each_shift(
    world: World, store: Store, results: list[dict[str, Any]]
) -> None:
    (span,) = world.trading(store)
    pc = _device(store, AssetKind.WORKSTATION)
    managers = {p.username for p in world.staff(store) if p.kind in {"manager", "security"}}
    logons = [
        r
        for r in results
        if r["hostIdentifier"] == pc.uid and r["name"] == "pack_vigil_logged_in_users"
    ]
    assert [r["action"] for r in logons] == ["added", "removed"]
    (user,) = {r["columns"]["user"] for r in logons}
    assert user in managers
    assert span.start - 3600 < int(logons[0]["columns"]["time"]) < span.start
    assert logons[1]["unixTime"] > span.end
    apps = [
        r["columns"]
        for r in results
        if r["hostIdentifier"] == pc.uid
        and r["name"] == "pack_vigil_process_events"
        and r["columns"]["cwd"] == f"/home/{user}"
    ]
    assert len(apps) > 10
    assert all(span.start - 3600 < int(c["time"]) < span.end + 3600 for c in apps)


@pytest.mark.parametrize("source", [IotSource, EndpointSource])
def test_same_seed_same_frame_other_seed_another(
    source: type[JsonLinesSource], world: World, store: Store
) -> None:
    again = World(generate_estate(2, seed=3), START, days=1, seed=3)
    first = source().generate(world, store)
    assert first.height > 0
    assert first.equals(source().generate(again, again.estate.stores[0]))
    other = World(generate_estate(2, seed=3), START, days=1, seed=4)
    assert not first.equals(source().generate(other, other.estate.stores[0]))


@pytest.mark.parametrize("source", [IotSource, EndpointSource])
def test_a_store_does_not_change_when_another_is_added(
    source: type[JsonLinesSource], world: World, store: Store
) -> None:
    bigger = World(generate_estate(3, seed=3), START, days=1, seed=3)
    assert bigger.estate.stores[0] == store
    assert source().generate(world, store).equals(source().generate(bigger, store))


@pytest.mark.parametrize("source", [IotSource, EndpointSource])
def test_a_store_without_such_devices_gives_an_empty_frame(
    source: type[JsonLinesSource], world: World, store: Store
) -> None:
    bare = store.model_copy(
        update={"assets": [a for a in store.assets if a.kind in {"switch", "printer"}]}
    )
    frame = source().generate(world, bare)
    assert frame.height == 0
    assert frame.schema == pl.Schema(JsonLinesSource.schema)


def test_a_rebooted_device_goes_quiet_then_reports_a_fresh_uptime() -> None:
    week = World(generate_estate(1, seed=3), START, days=7, seed=3)
    (store,) = week.estate.stores
    lines = IotSource().generate(week, store).sort("ts")["line"]
    boots = [json.loads(line) for line in lines.filter(lines.str.contains('"event":"boot"'))]
    assert boots
    for boot in boots:
        moment, device = _epoch(boot["ts"]), boot["payload"]["device"]
        topic = f'"stores/{store.uid}/iot/{device}/telemetry"'
        beats = [json.loads(line) for line in lines.filter(lines.str.contains(topic, literal=True))]
        before = [b for b in beats if _epoch(b["ts"]) < moment][-1]
        after = next(b for b in beats if _epoch(b["ts"]) >= moment)
        assert _epoch(after["ts"]) - _epoch(before["ts"]) > 60
        assert after["payload"]["uptime_s"] <= 60
        assert before["payload"]["uptime_s"] > 86400
