"""Self-checkout scan avoidance: items pass the scanner unregistered, the scale notices."""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from vigil.estate.types import AssetKind
from vigil.sim.sources.selfcheckout import SelfCheckoutSource, session_line
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World


@scenarios.register("sco_scan_avoidance")
class ScanAvoidance(Scenario):
    name: ClassVar[str] = "sco_scan_avoidance"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "Shoppers at one store's self-checkouts skip scanning items: many scans without registration, weight mismatches, slow lanes for few items."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        lanes = world.assets(store, AssetKind.SELF_CHECKOUT)
        if not lanes:
            raise SimError(f"{self.name}: store {store.uid} has no self-checkout")
        start = self.pick_start(world, rng, store, trading=True)
        n = max(2, int(6 * self.params.intensity))
        starts = np.sort(start + rng.random(n) * 6 * 3600)
        lines: list[str] = []
        ends: list[float] = []
        sessions: list[str] = []
        terminals: set[str] = set()
        for index, begin in enumerate(starts):
            scans = int(rng.integers(2, 6))
            duration = float(rng.uniform(300, 900))
            session = f"{store.uid}-F{index:06d}"
            terminal = lanes[int(rng.integers(len(lanes)))].uid
            terminals.add(terminal)
            lines.append(
                session_line(
                    begin + duration,
                    float(begin),
                    store.uid,
                    terminal,
                    session,
                    int(rng.integers(1, 3)),
                    scans,
                    round(scans * 3.5, 2),
                    int(rng.integers(0, 3)),
                    int(rng.integers(5, 11)),
                    int(rng.integers(0, 3)),
                    int(rng.integers(2, 6)),
                    0,
                )
            )
            ends.append(float(begin + duration))
            sessions.append(session)
        injection = Injection()
        injection.add(
            SelfCheckoutSource.name,
            SelfCheckoutSource.lines(
                [(ts, store.uid, line) for ts, line in zip(ends, lines, strict=True)]
            ),
        )
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}-{int(start)}",
                label=self.label,
                start=float(starts[0]),
                end=max(ends),
                stores=(store.uid,),
                entities={"session": sessions, "device": sorted(terminals)},
                sources=(SelfCheckoutSource.name,),
                description=f"{n} self-checkout sessions with scan avoidance in store {store.uid}.",
            )
        )
        return injection
