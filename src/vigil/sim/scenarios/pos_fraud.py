"""Cashier fraud at the till: excessive no-sales and voids by one cashier in one shift."""

from __future__ import annotations

from typing import ClassVar, Literal

from vigil.estate.types import AssetKind, IdentityKind
from vigil.sim.sources.pos import PosSource, basket, catalogue, document
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World


@scenarios.register("cashier_abuse")
class CashierAbuse(Scenario):
    name: ClassVar[str] = "cashier_abuse"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "One cashier opens the drawer with no sale and voids lines far more than peers, over one shift."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        cashiers = world.staff(store, IdentityKind.CASHIER)
        lanes = world.assets(store, AssetKind.POS_TERMINAL)
        if not cashiers or not lanes:
            raise SimError(f"{self.name}: store {store.uid} has no cashier or lane")
        cashier = cashiers[int(rng.integers(len(cashiers)))]
        cashier_id = cashier.cashier_id or cashier.uid
        lane = lanes[int(rng.integers(len(lanes)))]
        start = self.pick_start(world, rng, store, trading=True)
        shift = 4 * 3600.0
        count = max(3, round(10 * self.params.intensity))
        products = catalogue(world)
        times: list[float] = []
        lines: list[str] = []
        for index, moment in enumerate(sorted(start + rng.random(2 * count) * shift)):
            txn = f"{store.uid}{lane.lane}9{index:06d}"
            if index % 2 == 0:
                lines.append(document("no_sale", moment, store, lane, cashier_id, txn))
            else:
                items = basket(rng, products, int(rng.integers(2, 6)), void_rate=0.0)
                for item in items[: max(1, len(items) - 1)]:
                    item["voided"] = True
                total = round(sum(i["amount"] for i in items if not i.get("voided")) * 1.08, 2)
                lines.append(
                    document(
                        "sale",
                        moment,
                        store,
                        lane,
                        cashier_id,
                        txn,
                        items,
                        [{"type": "cash", "amount": total}],
                    )
                )
            times.append(moment)
        injection = Injection()
        injection.add(
            PosSource.name,
            PosSource.lines([(ts, store.uid, line) for ts, line in zip(times, lines, strict=True)]),
        )
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{store.uid}-{cashier_id}",
                label=self.label,
                start=min(times),
                end=max(times),
                stores=(store.uid,),
                entities={
                    "cashier": [cashier_id],
                    "user": [cashier.username],
                    "device": [lane.uid],
                },
                sources=(PosSource.name,),
                description=f"Cashier {cashier_id} ran {count} no-sales and {count} heavily voided sales on {lane.uid}.",
            )
        )
        return injection
