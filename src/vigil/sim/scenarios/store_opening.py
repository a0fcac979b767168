"""A new store opens: a benign burst of never-seen devices, people and traffic.

Before its opening morning the store sends nothing at all; then every device boots
and reports for the first time, new staff badge in and ring their first sales. A
detector that flags first-seen devices, users or destinations fires here, and should
not page anyone.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import ClassVar, Literal

import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.sources.iot import KINDS, IotSource, boot_line
from vigil.sim.sources.network import ZeekConnSource
from vigil.sim.sources.pos import PosSource
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios, sources
from vigil.sim.world import World

FIRST_DAY = timedelta(hours=14)


@scenarios.register("store_opening")
class StoreOpening(Scenario):
    name: ClassVar[str] = "store_opening"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "benign"
    description: ClassVar[str] = (
        "A new store goes live mid-simulation: silence, then every device, person and till appears for the first time."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = (
            self.pick_store(world, rng)
            if self.params.store is not None
            else world.estate.stores[-1]  # the newest store number
        )
        opening = self._opening(world, store)
        injection = Injection()
        for name in sources.names():
            injection.suppress(name, (pl.col("store") == store.uid) & (pl.col("ts") < opening))
        devices = [a for a in store.assets if a.kind in KINDS]
        boots = [
            (
                opening + 5 + index * 2.0,
                store.uid,
                boot_line(opening + 5 + index * 2.0, store.uid, asset, "installation"),
            )
            for index, asset in enumerate(devices)
        ]
        injection.add(IotSource.name, IotSource.lines(boots))
        end = min(opening + FIRST_DAY.total_seconds(), world.span.end - 1)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}",
                label=self.label,
                start=opening,
                end=end,
                stores=(store.uid,),
                entities={
                    "store": [store.uid],
                    "device": [a.uid for a in store.assets],
                    "ip": [a.ip for a in store.assets if a.ip],
                    "cashier": [
                        p.cashier_id for p in world.staff(store) if p.cashier_id is not None
                    ],
                },
                sources=(ZeekConnSource.name, IotSource.name, PosSource.name),
                description=(
                    f"Store {store.uid} goes live at 06:00 local: {len(devices)} IoT devices boot for "
                    f"the first time and {sum(a.kind == AssetKind.POS_TERMINAL for a in store.assets)} tills start trading."
                ),
            )
        )
        return injection

    def _opening(self, world: World, store: Store) -> float:
        """06:00 local on a morning mid-simulation with a trading day after it."""
        if self.params.at_hours is not None:
            return world.span.start + self.params.at_hours * 3600
        spans = world.trading(store)
        day = store.local(world.start).date()
        mornings = []
        for offset in range(400):
            moment = datetime.combine(day + timedelta(days=offset), time(6), store.tz).timestamp()
            if moment >= world.span.end:
                break
            if moment >= world.span.start + 3600 and any(s.start > moment for s in spans):
                mornings.append(moment)
        if mornings:  # the middle one: days of silence before, a full day after
            return mornings[len(mornings) // 2]
        raise SimError(
            f"{self.name}: store {store.uid} has no opening morning with trading after it; simulate longer"
        )
