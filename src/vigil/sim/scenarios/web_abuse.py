"""Attacks on the web shop: credential stuffing on customer accounts, and card testing.

Both are a burst of POSTs to one endpoint from a pool of addresses, most of them
refused; they differ in the endpoint, the pool, the volume and the odds.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import ClassVar, Literal

import numpy as np

from vigil.sim.sources.web import AGENTS, SITE, WebAccessSource, client_ips
from vigil.sim.types import Injection, Scenario, TruthRecord, scenarios
from vigil.sim.world import World


class _WebBurst(Scenario):
    minutes: ClassVar[float]
    requests: ClassVar[int]
    """Requests at intensity 1."""
    path: ClassVar[str]
    accepted: ClassVar[tuple[int, float]]
    """Status of an accepted request, and the share accepted."""
    refused: ClassVar[int]
    body_bytes: ClassVar[int]

    pool_stream: ClassVar[str]
    """Name of the random stream the address pool is drawn from."""

    @abstractmethod
    def pool_size(self) -> int:
        """How many addresses send the burst."""

    @abstractmethod
    def summary(self, requests: int, addresses: int, statuses: np.ndarray) -> str:
        """The ground truth's one-line description."""

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        length = self.minutes * 60.0
        if self.params.at_hours is not None:
            start = world.span.start + self.params.at_hours * 3600
        else:
            start = world.span.start + rng.random() * max(world.span.seconds - length, 60)
        n = int(self.requests * self.params.intensity)
        pool = client_ips(world.rng(self.pool_stream, self.name), self.pool_size())
        times = np.sort(start + rng.random(n) * length)
        ips = pool[rng.integers(0, len(pool), n)]
        status, share = self.accepted
        statuses = np.where(rng.random(n) < share, status, self.refused)
        frame = WebAccessSource.requests(
            times,
            ips,
            method="POST",
            path=self.path,
            status=statuses,
            size=self.body_bytes + rng.integers(0, 40, n),
            referer=f"{SITE}/",
            agent=str(AGENTS[0]),
        )
        injection = Injection()
        injection.add(WebAccessSource.name, frame)
        addresses = sorted(set(ips.tolist()))
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{int(start)}",
                label=self.label,
                start=float(times[0]),
                end=float(times[-1]),
                stores=(),
                entities={"ip": addresses, "url": [self.path]},
                sources=(WebAccessSource.name,),
                description=self.summary(n, len(addresses), statuses),
            )
        )
        return injection


@scenarios.register("credential_stuffing")
class CredentialStuffing(_WebBurst):
    name: ClassVar[str] = "credential_stuffing"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A botnet replays leaked passwords against customer logins: thousands of failures from hundreds of addresses, a few successes."
    )
    minutes: ClassVar[float] = 45
    requests: ClassVar[int] = 3000
    path: ClassVar[str] = "/account/login"
    accepted: ClassVar[tuple[int, float]] = (302, 0.015)
    refused: ClassVar[int] = 401
    body_bytes: ClassVar[int] = 0
    pool_stream: ClassVar[str] = "botnet"

    def pool_size(self) -> int:
        return max(20, int(300 * self.params.intensity))

    def summary(self, requests: int, addresses: int, statuses: np.ndarray) -> str:
        return (
            f"{requests} login attempts from {addresses} addresses in {self.minutes:.0f} minutes, "
            f"{int((statuses == 302).sum())} succeeded."
        )


@scenarios.register("card_testing")
class CardTesting(_WebBurst):
    name: ClassVar[str] = "card_testing"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "Fraudsters check stolen card numbers with small payments from a few addresses: most are declined."
    )
    minutes: ClassVar[float] = 25
    requests: ClassVar[int] = 400
    path: ClassVar[str] = "/api/payment/authorize"
    accepted: ClassVar[tuple[int, float]] = (200, 0.12)
    refused: ClassVar[int] = 402
    body_bytes: ClassVar[int] = 150
    pool_stream: ClassVar[str] = "testers"

    def pool_size(self) -> int:
        return 4

    def summary(self, requests: int, addresses: int, statuses: np.ndarray) -> str:
        return (
            f"{requests} payment authorisations from {addresses} addresses in "
            f"{self.minutes:.0f} minutes, {int((statuses == 402).sum())} declined."
        )
