"""Vendor credential misuse: an off-hours VPN login from a new country, then probing the POS segment."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from vigil.estate.types import AssetKind
from vigil.sim.sources.identity import SignInSource, signin
from vigil.sim.sources.network import ZeekConnSource, zeek_uids
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World

ATTACKER = ("RO", "89.38.98.21")


@scenarios.register("vendor_misuse")
class VendorMisuse(Scenario):
    name: ClassVar[str] = "vendor_misuse"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A stolen vendor account signs in off-hours from a new country without MFA, then scans the POS segment of one store."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        vendors = [i for i in world.estate.identities if i.vendor is not None]
        if not vendors:
            raise SimError(f"{self.name}: the estate has no vendor identities")
        vendor = vendors[int(rng.integers(len(vendors)))]
        store = self.pick_store(world, rng)
        vendor_segment, pos_terminals = (
            store.segment("vendor"),
            world.assets(store, AssetKind.POS_TERMINAL),
        )
        if vendor_segment is None or not pos_terminals:
            raise SimError(f"{self.name}: store {store.uid} has no vendor segment or POS terminal")
        start = self.pick_start(world, rng, store, trading=False)
        country, ip = ATTACKER
        failures = [start - 60 * k for k in range(3, 0, -1)]
        lines = [
            signin(f"x{k:09d}", t, vendor.username, ip, country, "Vendor VPN", False, None)
            for k, t in enumerate(failures)
        ]
        lines.append(
            signin("x000000099", start, vendor.username, ip, country, "Vendor VPN", True, None)
        )
        injection = Injection()
        injection.add(
            SignInSource.name,
            SignInSource.lines(
                [(ts, None, line) for ts, line in zip([*failures, start], lines, strict=True)]
            ),
        )
        pivot = str(vendor_segment.network.network_address + 77)
        targets = [a.ip for a in pos_terminals if a.ip]
        ports = np.array([22, 135, 139, 445, 3389, 5985])
        n = len(targets) * len(ports)
        times = start + 300 + np.sort(rng.random(n)) * 600
        frame = ZeekConnSource.frame(
            {
                "ts": times.tolist(),
                "store": [store.uid] * n,
                "uid": zeek_uids(rng, n).tolist(),
                "orig_h": [pivot] * n,
                "orig_p": rng.integers(32768, 61000, n).tolist(),
                "resp_h": np.repeat(targets, len(ports)).tolist(),
                "resp_p": np.tile(ports, len(targets)).tolist(),
                "proto": ["tcp"] * n,
                "service": [None] * n,
                "duration": [0.0] * n,
                "orig_bytes": [0] * n,
                "resp_bytes": [0] * n,
                "conn_state": np.where(np.tile(ports, len(targets)) == 445, "S0", "REJ").tolist(),
                "orig_pkts": [1] * n,
                "resp_pkts": [0] * n,
            }
        )
        injection.add(ZeekConnSource.name, frame)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{vendor.uid}-{store.uid}",
                label=self.label,
                start=failures[0],
                end=float(times[-1]),
                stores=(store.uid,),
                entities={
                    "user": [vendor.username],
                    "ip": [ip, pivot],
                    "device": [a.uid for a in pos_terminals],
                },
                sources=(SignInSource.name, ZeekConnSource.name),
                description=f"{vendor.username} signed in from {country} ({ip}) off-hours without MFA after 3 failures; {pivot} then probed {len(targets)} POS terminals in store {store.uid}.",
            )
        )
        return injection
