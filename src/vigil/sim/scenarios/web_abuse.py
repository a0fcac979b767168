"""Attacks on the web shop: credential stuffing on customer accounts, and card testing."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from vigil.sim.sources.web import AGENTS, SITE, WebAccessSource, client_ips
from vigil.sim.types import Injection, Scenario, TruthRecord, scenarios
from vigil.sim.world import World


def _start(scenario: Scenario, world: World, rng: np.random.Generator, length: float) -> float:
    if scenario.params.at_hours is not None:
        return world.span.start + scenario.params.at_hours * 3600
    return world.span.start + rng.random() * max(world.span.seconds - length, 60)


def _requests(
    rng: np.random.Generator,
    times: np.ndarray,
    ips: np.ndarray,
    path: str,
    statuses: np.ndarray,
    agent: str,
    size: int,
) -> dict[str, list[object]]:
    n = len(times)
    return {
        "ts": times.tolist(),
        "store": [None] * n,
        "ip": ips.tolist(),
        "user": [None] * n,
        "method": ["POST"] * n,
        "path": [path] * n,
        "status": statuses.tolist(),
        "bytes": (size + rng.integers(0, 40, n)).tolist(),
        "referer": [f"{SITE}/"] * n,
        "agent": [agent] * n,
    }


@scenarios.register("credential_stuffing")
class CredentialStuffing(Scenario):
    name: ClassVar[str] = "credential_stuffing"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A botnet replays leaked passwords against customer logins: thousands of failures from hundreds of addresses, a few successes."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        length = 45 * 60.0
        start = _start(self, world, rng, length)
        n = int(3000 * self.params.intensity)
        bots = client_ips(world.rng("botnet", self.name), max(20, int(300 * self.params.intensity)))
        times = np.sort(start + rng.random(n) * length)
        ips = bots[rng.integers(0, len(bots), n)]
        statuses = np.where(rng.random(n) < 0.015, 302, 401)
        frame = WebAccessSource.frame(
            _requests(rng, times, ips, "/account/login", statuses, str(AGENTS[0]), 0)
        )
        injection = Injection()
        injection.add(WebAccessSource.name, frame)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{int(start)}",
                label=self.label,
                start=float(times[0]),
                end=float(times[-1]),
                stores=(),
                entities={"ip": sorted(set(ips.tolist())), "url": ["/account/login"]},
                sources=(WebAccessSource.name,),
                description=f"{n} login attempts from {len(set(ips.tolist()))} addresses in {length / 60:.0f} minutes, {int((statuses == 302).sum())} succeeded.",
            )
        )
        return injection


@scenarios.register("card_testing")
class CardTesting(Scenario):
    name: ClassVar[str] = "card_testing"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "Fraudsters check stolen card numbers with small payments from a few addresses: most are declined."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        length = 25 * 60.0
        start = _start(self, world, rng, length)
        n = int(400 * self.params.intensity)
        testers = client_ips(world.rng("testers", self.name), 4)
        times = np.sort(start + rng.random(n) * length)
        ips = testers[rng.integers(0, len(testers), n)]
        statuses = np.where(rng.random(n) < 0.12, 200, 402)
        frame = WebAccessSource.frame(
            _requests(rng, times, ips, "/api/payment/authorize", statuses, str(AGENTS[0]), 150)
        )
        injection = Injection()
        injection.add(WebAccessSource.name, frame)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{int(start)}",
                label=self.label,
                start=float(times[0]),
                end=float(times[-1]),
                stores=(),
                entities={"ip": sorted(set(ips.tolist())), "url": ["/api/payment/authorize"]},
                sources=(WebAccessSource.name,),
                description=f"{n} payment authorisations from {len(set(ips.tolist()))} addresses in {length / 60:.0f} minutes, {int((statuses == 402).sum())} declined.",
            )
        )
        return injection
