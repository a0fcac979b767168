"""IoT device compromise and its benign twin: a botnet, a rogue firmware, a vendor rollout.

The botnet (Mirai-like) takes over cameras: they hammer telnet on the internet and
their own segment, beacon to a C2 server and resolve its name, and their heartbeats
show the load. A rogue firmware is uploaded to one device at night from the
back-office PC; after the reboot the device reports the unapproved version and calls
a new host. The rollout is what the vendor really does: every camera of the estate,
over the air, in the night's maintenance window, from the vendor's update server.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import Asset, AssetKind
from vigil.sim.sources.dns import ZeekDnsSource
from vigil.sim.sources.firewall import FirewallSource
from vigil.sim.sources.iot import IotSource, boot_line, firmware_changed_line
from vigil.sim.sources.netflow import NetflowSource
from vigil.sim.sources.network import ZeekConnSource, internet_hosts
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World

C2 = "203.0.113.66"
C2_NAME = "cnc.nwupdate-cdn.top"
BACKDOOR = "198.51.100.190"
UPDATE_SERVER = "13.32.7.20"
ROLLOUT_VERSION = {AssetKind.CAMERA: "11.9.12"}


def since(moments: Mapping[str, float]) -> pl.Expr:
    """For each IoT line, the moment its device is in `moments` (null for other devices)."""
    device = pl.col("line").str.extract(r'"device":"([^"]+)"')
    return device.replace_strict(dict(moments), default=None, return_dtype=pl.Float64)


HEARTBEAT = pl.col("line").str.contains('"msg":"heartbeat"', literal=True)


def after_reboot(injection: Injection, booted: Mapping[str, float], firmware: str | None) -> None:
    """Heartbeats of each device from its reboot on: fresh uptime, and the new firmware."""
    boot = since(booted)
    where = HEARTBEAT & (pl.col("ts") >= boot)
    line = pl.col("line").str.replace(
        r'"uptime_s":\d+',
        pl.concat_str(
            [pl.lit('"uptime_s":'), (pl.col("ts") - boot).cast(pl.Int64).cast(pl.String)]
        ),
    )
    if firmware is not None:
        line = line.str.replace(r'"firmware":"[^"]*"', f'"firmware":"{firmware}"')
    injection.amend(IotSource.name, where, line=line)


def _cameras(store: Store) -> list[Asset]:
    return [a for a in store.assets if a.kind == AssetKind.CAMERA and a.ip]


@scenarios.register("iot_botnet")
class IotBotnet(Scenario):
    name: ClassVar[str] = "iot_botnet"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "Cameras join a Mirai-like botnet: telnet scanning of the internet and their own segment, C2 beacons and look-ups, busy heartbeats."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        cameras = _cameras(store)
        if not cameras:
            raise SimError(f"{self.name}: store {store.uid} has no camera")
        start = self.pick_start(world, rng, store, trading=True)
        end = min(start + 6 * 3600, world.span.end - 60)
        count = min(len(cameras), 1 + int(self.params.intensity))
        infected = [cameras[int(i)] for i in rng.choice(len(cameras), count, replace=False)]
        iot_net = store.segment("iot")
        injection = Injection()
        infected_at: dict[str, float] = {}
        for order, camera in enumerate(infected):
            t0 = start + order * rng.uniform(20 * 60, 40 * 60)
            if t0 >= end - 600:
                break
            infected_at[camera.uid] = t0
            self._infect(injection, rng, store, camera, t0, end, iot_net.cidr if iot_net else None)
        busy = since(infected_at)
        where = HEARTBEAT & (pl.col("ts") >= busy) & (pl.col("ts") <= end)
        wobble = (pl.col("ts") * 7.3 % 11).round(1)
        injection.amend(
            IotSource.name,
            where,
            line=pl.col("line")
            .str.replace(
                r'"cpu_pct":[0-9.]+',
                pl.concat_str([pl.lit('"cpu_pct":'), (87 + wobble).cast(pl.String)]),
            )
            .str.replace(
                r'"connections":\d+',
                pl.concat_str(
                    [pl.lit('"connections":'), (180 + wobble * 20).cast(pl.Int64).cast(pl.String)]
                ),
            ),
        )
        devices = [c for c in infected if c.uid in infected_at]
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}",
                label=self.label,
                start=min(infected_at.values()),
                end=end,
                stores=(store.uid,),
                entities={
                    "device": [c.uid for c in devices],
                    "ip": [*(c.ip or "" for c in devices), C2],
                    "domain": [C2_NAME],
                },
                sources=(
                    ZeekConnSource.name,
                    ZeekDnsSource.name,
                    IotSource.name,
                    FirewallSource.name,
                    NetflowSource.name,
                ),
                description=(
                    f"{len(devices)} camera(s) in store {store.uid} scan telnet and beacon to "
                    f"{C2_NAME} ({C2}) every minute, from {len(devices)} infection(s) 20-40 min apart."
                ),
            )
        )
        return injection

    @staticmethod
    def _infect(
        injection: Injection,
        rng: np.random.Generator,
        store: Store,
        camera: Asset,
        start: float,
        end: float,
        segment: str | None,
    ) -> None:
        ip = camera.ip or ""
        scans = np.sort(start + rng.random(int((end - start) / 2)) * (end - start))
        n = len(scans)
        targets = internet_hosts(rng, n)
        if segment is not None:  # a tenth of the probes stay on the camera's own segment
            local = rng.random(n) < 0.1
            prefix = segment.rsplit(".", 1)[0]
            targets[local] = [f"{prefix}.{int(h)}" for h in rng.integers(2, 254, int(local.sum()))]
        states = np.where(rng.random(n) < 0.9, "S0", np.where(rng.random(n) < 0.8, "REJ", "SF"))
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                scans,
                ip,
                targets,
                np.where(rng.random(n) < 0.8, 23, 2323),
                state=states,
                orig_bytes=np.where(states == "SF", rng.integers(40, 120, n), 0),
                resp_bytes=np.where(states == "SF", rng.integers(20, 80, n), 0),
            ),
        )
        beacons = np.arange(start + 30, end, 60.0) + rng.normal(
            0, 3, len(np.arange(start + 30, end, 60.0))
        )
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                beacons,
                ip,
                C2,
                23,
                orig_bytes=rng.integers(20, 60, len(beacons)),
                resp_bytes=rng.integers(2, 40, len(beacons)),
                duration=rng.exponential(0.5, len(beacons)),
            ),
        )
        lookups = beacons[::10] - 0.2
        injection.add(
            ZeekDnsSource.name,
            ZeekDnsSource.lookups(rng, store, lookups, ip, C2_NAME, answers=[C2], ttl=60),
        )


@scenarios.register("rogue_firmware")
class RogueFirmware(Scenario):
    name: ClassVar[str] = "rogue_firmware"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "At night a modified firmware is uploaded to a camera from the back-office PC; after the reboot it runs an unapproved version and calls a new host."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        cameras = _cameras(store)
        pcs = [a for a in store.assets if a.kind == AssetKind.WORKSTATION and a.ip]
        if not cameras or not pcs:
            raise SimError(f"{self.name}: store {store.uid} lacks a camera or a back-office PC")
        camera, pc = cameras[int(rng.integers(len(cameras)))], pcs[0]
        upload = self.pick_start(world, rng, store, trading=False)
        reboot = upload + rng.uniform(60, 180)
        end = min(reboot + 4 * 3600, world.span.end - 60)
        version = f"{camera.firmware or '1.0'}-r{int(rng.integers(2, 9))}"
        injection = Injection()
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                np.array([upload]),
                pc.ip or "",
                camera.ip or "",
                443,
                service="ssl",
                orig_bytes=int(rng.integers(30, 60) * 1_000_000),
                resp_bytes=int(rng.integers(2_000, 9_000)),
                duration=float(rng.uniform(20, 50)),
            ),
        )
        calls = np.arange(reboot + 120, end, 300.0)
        injection.add(
            ZeekConnSource.name,
            ZeekConnSource.connections(
                rng,
                store.uid,
                calls + rng.normal(0, 5, len(calls)),
                camera.ip or "",
                BACKDOOR,
                443,
                service="ssl",
                orig_bytes=rng.integers(800, 4_000, len(calls)),
                resp_bytes=rng.integers(300, 900, len(calls)),
                duration=rng.exponential(1, len(calls)),
            ),
        )
        injection.add(
            IotSource.name,
            IotSource.lines(
                [
                    (
                        reboot - 5,
                        store.uid,
                        firmware_changed_line(
                            reboot - 5, store.uid, camera, version, method="local_upload"
                        ),
                    ),
                    (
                        reboot + 40,
                        store.uid,
                        boot_line(reboot + 40, store.uid, camera, "firmware_update", version),
                    ),
                ]
            ),
        )
        after_reboot(injection, {camera.uid: reboot + 40}, version)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{camera.uid}",
                label=self.label,
                start=upload,
                end=float(calls[-1]) if len(calls) else reboot + 40,
                stores=(store.uid,),
                entities={
                    "device": [camera.uid, pc.uid],
                    "ip": [camera.ip or "", pc.ip or "", BACKDOOR],
                },
                sources=(ZeekConnSource.name, IotSource.name),
                description=(
                    f"{pc.uid} uploads firmware {version} (approved: {camera.firmware}) to {camera.uid} "
                    f"while the store is closed; after the reboot it calls {BACKDOOR}:443 every 5 minutes."
                ),
            )
        )
        return injection


@scenarios.register("firmware_rollout")
class FirmwareRollout(Scenario):
    name: ClassVar[str] = "firmware_rollout"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "benign"
    description: ClassVar[str] = (
        "The camera vendor updates every camera in the estate over the air during the night's maintenance window."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        version = ROLLOUT_VERSION[AssetKind.CAMERA]
        injection = Injection()
        boots: dict[str, float] = {}
        lines: list[tuple[float, str | None, str]] = []
        devices: list[str] = []
        updated_ips: list[str] = []
        for store in world.estate.stores:
            night = self._window(world, store)
            if night is None:
                continue
            cameras = _cameras(store)
            times = np.sort(night + rng.uniform(0, 2 * 3600, len(cameras)))
            for camera, moment in zip(cameras, times, strict=True):
                boots[camera.uid] = float(moment) + 95
                lines.append(
                    (
                        float(moment),
                        store.uid,
                        firmware_changed_line(float(moment), store.uid, camera, version),
                    )
                )
                lines.append(
                    (
                        boots[camera.uid],
                        store.uid,
                        boot_line(boots[camera.uid], store.uid, camera, "firmware_update", version),
                    )
                )
                devices.append(camera.uid)
                updated_ips.append(camera.ip or "")
            injection.add(
                ZeekConnSource.name,
                ZeekConnSource.connections(
                    rng,
                    store.uid,
                    times - 300,
                    np.array([c.ip or "" for c in cameras]),
                    UPDATE_SERVER,
                    443,
                    service="ssl",
                    orig_bytes=rng.integers(20_000, 60_000, len(cameras)),
                    resp_bytes=rng.integers(38_000_000, 42_000_000, len(cameras)),
                    duration=rng.uniform(60, 200, len(cameras)),
                ),
            )
        if not devices:
            raise SimError(
                f"{self.name}: no store has cameras and a night inside the simulated time"
            )
        injection.add(IotSource.name, IotSource.lines(lines))
        after_reboot(injection, boots, version)
        moments = [ts for ts, _, _ in lines]
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{version}",
                label=self.label,
                start=min(moments) - 300,
                end=max(moments),
                stores=tuple(sorted({line[1] or "" for line in lines})),
                entities={"device": devices, "ip": [UPDATE_SERVER, *updated_ips]},
                sources=(ZeekConnSource.name, IotSource.name),
                description=(
                    f"{len(devices)} cameras update to {version} over the air from {UPDATE_SERVER} "
                    "between 02:00 and 04:00 local time."
                ),
            )
        )
        return injection

    def _window(self, world: World, store: Store) -> float | None:
        """02:00 local on the first night inside the simulated time (or `at_hours`)."""
        if self.params.at_hours is not None:
            return world.span.start + self.params.at_hours * 3600
        day = store.local(world.start).date()
        for offset in range(0, 400):
            moment = datetime.combine(day + timedelta(days=offset), time(2), store.tz).timestamp()
            if moment > world.span.end - 2.5 * 3600:
                return None
            if moment - 300 >= world.span.start:
                return moment
        return None
