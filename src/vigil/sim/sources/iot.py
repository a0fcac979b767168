"""IoT telemetry from the stores' MQTT broker bridge, one JSON message per line.

`{"ts": "2026-11-23T08:00:00.000Z", "topic": "stores/031/iot/s031-cam-01/telemetry",
"payload": {...}}`: heartbeats go to `stores/<store>/iot/<device>/telemetry`, events to
`stores/<store>/iot/<device>/events`.

Heartbeat, every 60 s (clock jitter ±0.5 s): `{"msg": "heartbeat", "device", "kind",
"vendor", "model", "firmware", "ip", "mac", "uptime_s", "cpu_pct", "mem_pct",
"connections", "readings": {...}}`. Readings by kind: camera `recording, fps,
bitrate_kbps`; nvr `recording, channels, storage_used_pct, disk_health`; smart_shelf
`stock_pct, weight_kg` (falls while trading, restocked overnight); hvac `temp_c,
setpoint_c, humidity_pct, mode`; sensor `temp_c, humidity_pct`; iot_gateway `clients,
msgs_per_min`; door_controller `doors_online, tamper`; alarm_panel `armed, ac_power,
battery_v`. `firmware` is the running version (the asset's approved one unless a
scenario changes it).

Event: `{"msg": "event", "device", "kind", "event", "firmware", ...details}`: `boot`
(`reason`), `config_changed` (`setting`, `by`), `restock` (`stock_pct`), `occupancy`
(`occupied`, `setpoint_c`), `door_contact` (`door`, `state`) and, from scenarios only,
`firmware_changed` (`from`, `to`, `method`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import Asset, AssetKind
from vigil.sim.sources.pos import iso
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World

MessageKind = Literal["heartbeat", "event"]
Readings = dict[str, np.ndarray]
Happening = tuple[float, str, Mapping[str, object]]  # (epoch seconds, event, details)

PERIOD = 60.0
# Typical (cpu %, memory %, established connections) of each kind.
LOAD = {
    AssetKind.CAMERA: (22.0, 38.0, 3),
    AssetKind.NVR: (35.0, 55.0, 3),
    AssetKind.SENSOR: (3.0, 20.0, 1),
    AssetKind.SMART_SHELF: (6.0, 30.0, 1),
    AssetKind.HVAC: (9.0, 35.0, 2),
    AssetKind.IOT_GATEWAY: (14.0, 45.0, 2),
    AssetKind.DOOR_CONTROLLER: (5.0, 28.0, 2),
    AssetKind.ALARM_PANEL: (3.0, 22.0, 1),
}
KINDS = tuple(LOAD)
REBOOTS_PER_DAY = 0.02
CONFIG_CHANGES_PER_DAY = 0.03


def topic(store_uid: str, device_uid: str, kind: MessageKind) -> str:
    leaf = "telemetry" if kind == "heartbeat" else "events"
    return f"stores/{store_uid}/iot/{device_uid}/{leaf}"


def iot_line(
    ts: float, store_uid: str, device_uid: str, kind: MessageKind, payload: Mapping[str, object]
) -> str:
    """One bridged MQTT message; `kind` picks the telemetry or events topic."""
    message = {"ts": iso(ts), "topic": topic(store_uid, device_uid, kind), "payload": payload}
    return json.dumps(message, separators=(",", ":"))


def identity(asset: Asset, firmware: str | None = None) -> dict[str, object]:
    """What every heartbeat says about the device; `firmware` overrides the approved one."""
    return {
        "device": asset.uid,
        "kind": asset.kind.value,
        "vendor": asset.vendor,
        "model": asset.model,
        "firmware": firmware or asset.firmware,
        "ip": asset.ip,
        "mac": asset.mac,
    }


def heartbeat_line(
    ts: float,
    store_uid: str,
    asset: Asset,
    *,
    uptime_s: float,
    cpu_pct: float,
    mem_pct: float,
    connections: int,
    readings: Mapping[str, object] | None = None,
    firmware: str | None = None,
) -> str:
    """A heartbeat as the benign generator writes it (e.g. a botnet's busy device)."""
    payload = {
        "msg": "heartbeat",
        **identity(asset, firmware),
        "uptime_s": int(uptime_s),
        "cpu_pct": round(float(cpu_pct), 1),
        "mem_pct": round(float(mem_pct), 1),
        "connections": int(connections),
        "readings": dict(readings or {}),
    }
    return iot_line(ts, store_uid, asset.uid, "heartbeat", payload)


def event_line(
    ts: float,
    store_uid: str,
    asset: Asset,
    event: str,
    details: Mapping[str, object] | None = None,
    firmware: str | None = None,
) -> str:
    """An event message; `firmware` is what the device runs (the approved one by default)."""
    head = {"msg": "event", "device": asset.uid, "kind": asset.kind.value, "event": event}
    payload = head | {"firmware": firmware or asset.firmware, **(details or {})}
    return iot_line(ts, store_uid, asset.uid, "event", payload)


def boot_line(
    ts: float, store_uid: str, asset: Asset, reason: str = "power", firmware: str | None = None
) -> str:
    return event_line(ts, store_uid, asset, "boot", {"reason": reason}, firmware)


def firmware_changed_line(
    ts: float, store_uid: str, asset: Asset, new: str, method: str = "ota", old: str | None = None
) -> str:
    """The device reports a firmware change from `old` (the approved one by default) to `new`."""
    change = {"from": old or asset.firmware, "to": new, "method": method}
    return event_line(ts, store_uid, asset, "firmware_changed", change, firmware=new)


def heartbeat_lines(
    store_uid: str,
    asset: Asset,
    millis: np.ndarray,
    fields: Mapping[str, np.ndarray],
    readings: Readings,
) -> pl.Series:
    """Vectorised `heartbeat_line`: the same bytes for the same values, thousands at a time."""
    head = json.dumps({"topic": topic(store_uid, asset.uid, "heartbeat")}, separators=(",", ":"))
    ident = json.dumps(identity(asset), separators=(",", ":"))[1:-1]
    parts: list[pl.Expr] = [
        pl.lit('{"ts":"'),
        pl.from_epoch(pl.col("ms"), time_unit="ms").dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.lit(f'",{head[1:-1]},"payload":{{"msg":"heartbeat",{ident}'),
    ]
    for name in fields:
        parts += [pl.lit(f',"{name}":'), pl.col(name).cast(pl.String)]
    parts.append(pl.lit(',"readings":{'))
    for index, name in enumerate(readings):
        quote = '"' if readings[name].dtype.kind in "US" else ""
        parts += [
            pl.lit(f'{"," if index else ""}"{name}":{quote}'),
            pl.col(f"r_{name}").cast(pl.String),
            pl.lit(quote),
        ]
    parts.append(pl.lit("}}}"))
    columns = {"ms": millis, **fields, **{f"r_{k}": v for k, v in readings.items()}}
    return pl.DataFrame(columns).select(pl.concat_str(parts).alias("line"))["line"]


@dataclass(frozen=True)
class Site:
    """One store's shared context while its devices are generated."""

    world: World
    store: Store
    rng: np.random.Generator
    opens: np.ndarray
    closes: np.ndarray
    cameras: int
    devices: int

    def open(self, times: np.ndarray, before: float = 0.0, after: float = 0.0) -> np.ndarray:
        """Whether each time is inside trading hours widened by `before`/`after` seconds."""
        if not len(self.opens):
            return np.zeros(len(times), dtype=bool)
        index = np.searchsorted(self.opens - before, times, side="right") - 1
        return np.asarray((index >= 0) & (times < self.closes[np.maximum(index, 0)] + after))


Reading = tuple[Readings, list[Happening]]
Reader = Callable[[Site, np.ndarray], Reading]


def _camera(site: Site, times: np.ndarray) -> Reading:
    n, busy = len(times), site.open(times)
    bitrate = (2800 * (1 + 0.35 * busy) * site.rng.lognormal(0, 0.06, n)).astype(np.int64)
    return {"recording": np.ones(n, bool), "fps": np.full(n, 15), "bitrate_kbps": bitrate}, []


def _nvr(site: Site, times: np.ndarray) -> Reading:
    """Storage fills through the day and the retention purge frees it again at midnight."""
    n, base = len(times), 78 + 10 * site.rng.random()
    used = np.round(base + 1.5 * (times % 86400) / 86400 + site.rng.normal(0, 0.03, n), 1)
    readings = {"recording": np.ones(n, bool), "channels": np.full(n, site.cameras)}
    return readings | {"storage_used_pct": used, "disk_health": np.full(n, "ok")}, []


def _shelf(site: Site, times: np.ndarray) -> Reading:
    """Stock sells down with the customer rate while trading and is refilled after closing."""
    rng, capacity = site.rng, float(site.rng.uniform(40, 120))
    restocks = site.closes + rng.uniform(3600, 3 * 3600, len(site.closes))
    segment = np.searchsorted(restocks, times, side="right")
    sold = site.open(times) * rng.exponential(1.0, len(times))
    sold = sold * site.world.customer_rate(site.store, times)
    totals = np.bincount(segment, sold, minlength=len(restocks) + 1)
    share = np.where(totals > 0, rng.uniform(35, 65, len(totals)) / np.maximum(totals, 1e-9), 0)
    cumulative = np.cumsum(sold * share[segment])
    before = np.concatenate([[0.0], cumulative])[np.searchsorted(segment, segment)]
    levels = np.concatenate([[rng.uniform(85, 100)], rng.uniform(95, 100, len(restocks))])
    stock = np.clip(levels[segment] - (cumulative - before), 2, 100)
    events: list[Happening] = [
        (float(t), "restock", {"stock_pct": round(float(level), 1)})
        for t, level in zip(restocks, levels[1:], strict=True)
    ]
    readings = {"stock_pct": np.round(stock, 1), "weight_kg": np.round(stock / 100 * capacity, 2)}
    return readings, events


def _hvac(site: Site, times: np.ndarray) -> Reading:
    """Occupied from an hour before opening to half an hour after closing; 21 °C, else 16 °C."""
    occupied = site.open(times, before=3600, after=1800)
    setpoint = np.where(occupied, 21.0, 16.0)
    changed = np.flatnonzero(np.diff(occupied.astype(np.int8))) + 1
    last = np.concatenate([[0], changed])[np.searchsorted(changed, np.arange(len(times)), "right")]
    since = times - times[last]
    previous = np.where(occupied, 16.0, 21.0)
    settled = np.where(last == 0, 0.0, np.exp(-since / 2400))
    temp = setpoint + (previous - setpoint) * settled + site.rng.normal(0, 0.12, len(times))
    events: list[Happening] = []
    for i in changed:
        state = {"occupied": bool(occupied[i]), "setpoint_c": float(setpoint[i])}
        events.append((float(times[i]), "occupancy", state))
    return {
        "temp_c": np.round(temp, 1),
        "setpoint_c": setpoint,
        "humidity_pct": np.round(38 + site.rng.normal(0, 1.5, len(times)), 1),
        "mode": np.where(temp < setpoint - 0.3, "heat", "idle"),
    }, events


def _sensor(site: Site, times: np.ndarray) -> Reading:
    temp, humidity = site.rng.normal(19.5, 0.3, len(times)), site.rng.normal(40, 2, len(times))
    return {"temp_c": np.round(temp, 1), "humidity_pct": np.round(humidity, 1)}, []


def _gateway(site: Site, times: np.ndarray) -> Reading:
    clients = np.full(len(times), site.devices - 1)
    return {"clients": clients, "msgs_per_min": clients + site.rng.poisson(3, len(times))}, []


def _door(site: Site, times: np.ndarray) -> Reading:
    """Door contacts open and close through the day at the staff entrance and stockroom."""
    rng, events = site.rng, list[Happening]()
    doors = (f"{site.store.uid}-staff-entrance", f"{site.store.uid}-stockroom")
    for start, end in zip(site.opens, site.closes, strict=True):
        for moment in np.sort(rng.uniform(start, end, int(rng.poisson(30)))):
            door = doors[int(rng.integers(len(doors)))]
            events.append((float(moment), "door_contact", {"door": door, "state": "open"}))
            shut = float(moment + rng.uniform(4, 40))
            events.append((shut, "door_contact", {"door": door, "state": "closed"}))
    n = len(times)
    return {"doors_online": np.full(n, len(doors)), "tamper": np.zeros(n, dtype=bool)}, events


def _alarm(site: Site, times: np.ndarray) -> Reading:
    armed = ~site.open(times, before=50 * 60, after=50 * 60)
    battery = np.round(site.rng.normal(13.6, 0.03, len(times)), 2)
    return {"armed": armed, "ac_power": np.ones(len(times), bool), "battery_v": battery}, []


READERS: dict[AssetKind, Reader] = {
    AssetKind.CAMERA: _camera,
    AssetKind.NVR: _nvr,
    AssetKind.SENSOR: _sensor,
    AssetKind.SMART_SHELF: _shelf,
    AssetKind.HVAC: _hvac,
    AssetKind.IOT_GATEWAY: _gateway,
    AssetKind.DOOR_CONTROLLER: _door,
    AssetKind.ALARM_PANEL: _alarm,
}


def _uptime(site: Site, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[Happening]]:
    """Heartbeat times left after rare reboots (silent while down), uptimes, boot events."""
    rng, span = site.rng, site.world.span
    count = int(rng.poisson(REBOOTS_PER_DAY * span.seconds / 86400))
    crashes = np.sort(rng.uniform(span.start, span.end, count))
    ups = crashes + rng.uniform(45, 150, count)
    for crash, up in zip(crashes, ups, strict=True):
        times = times[(times < crash) | (times >= up)]
    booted = np.concatenate([[span.start - rng.uniform(1, 90) * 86400], ups])
    uptime = times - booted[np.searchsorted(booted, times, side="right") - 1]
    reasons = ("power", "watchdog", "scheduled")
    events: list[Happening] = [
        (float(t), "boot", {"reason": reasons[int(rng.integers(len(reasons)))]}) for t in ups
    ]
    return times, uptime, events


def _device(site: Site, asset: Asset) -> tuple[pl.DataFrame, list[tuple[float, str]]]:
    rng, span = site.rng, site.world.span
    times = np.arange(span.start + rng.random() * PERIOD, span.end, PERIOD)
    times, uptime, happenings = _uptime(site, times + rng.normal(0, 0.2, len(times)))
    cpu_base, mem_base, conns = LOAD[asset.kind]
    conns = {AssetKind.NVR: site.cameras + 2, AssetKind.IOT_GATEWAY: site.devices}.get(
        asset.kind, conns
    )
    n, busy = len(times), site.open(times)
    cpu = cpu_base * (1 + 0.2 * busy) + rng.normal(0, max(1.0, cpu_base * 0.1), n)
    mem = mem_base + np.minimum(uptime / 86400 * 0.4, 15) + rng.normal(0, 0.8, n)
    readings, events = READERS[asset.kind](site, times)
    for _ in range(int(rng.poisson(CONFIG_CHANGES_PER_DAY * span.seconds / 86400))):
        setting = ("ntp_server", "log_level", "syslog_target")[int(rng.integers(3))]
        moment = float(rng.uniform(span.start, span.end))
        events.append((moment, "config_changed", {"setting": setting, "by": "mdm"}))
    fields: dict[str, np.ndarray] = {
        "uptime_s": uptime.astype(np.int64),
        "cpu_pct": np.round(np.clip(cpu, 0.5, 99.0), 1),
        "mem_pct": np.round(np.clip(mem, 1.0, 99.0), 1),
        "connections": conns + rng.poisson(0.3, n),
    }
    millis = np.floor(times * 1000).astype(np.int64)
    lines = heartbeat_lines(site.store.uid, asset, millis, fields, readings)
    frame = pl.DataFrame({"ts": millis / 1000, "store": site.store.uid, "line": lines})
    rows = []
    for moment, event, details in happenings + events:
        ts = math.floor(moment * 1000) / 1000
        rows.append((ts, event_line(ts, site.store.uid, asset, event, details)))
    return frame, rows


@sources.register("iot")
class IotSource(JsonLinesSource):
    name: ClassVar[str] = "iot"
    path: ClassVar[str] = "iot/mqtt.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        devices = world.assets(store, *KINDS)
        if not devices:
            return self.lines([])
        spans = world.trading(store)
        opens, closes = np.array([s.start for s in spans]), np.array([s.end for s in spans])
        cameras = len(world.assets(store, AssetKind.CAMERA))
        site = Site(world, store, world.rng("iot", store.uid), opens, closes, cameras, len(devices))
        frames, rows = [], []
        for asset in devices:
            frame, events = _device(site, asset)
            frames.append(frame)
            rows += [(t, store.uid, line) for t, line in events]
        frames.append(self.lines(rows))
        return pl.concat(frames, how="vertical")
