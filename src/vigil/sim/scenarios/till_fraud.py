"""Fraud at staffed tills: sweethearting, no-receipt refund fraud, organised retail crime.

Every transaction is rung by a cashier on shift at that lane at that moment (see
`vigil.sim.shifts.roster`). Transaction ids carry "71", "72" or "73" after the lane,
clear of benign ids (a running index) and of the other scenarios' prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

from vigil.estate import Identity, Store
from vigil.estate.types import Asset, AssetKind
from vigil.sim.shifts import Shift, roster
from vigil.sim.sources.iot import IotSource, event_line
from vigil.sim.sources.pos import TAX, PosSource, card, catalogue, document
from vigil.sim.types import Injection, Scenario, SimError, TruthRecord, scenarios
from vigil.sim.world import World

Product = tuple[str, str, str, float]
Row = tuple[float, str | None, str]
APPROVAL_LIMIT = 50.0
"""Refunds of this total or more need a manager's approval at the till."""
HIT = 15 * 60.0
"""How long a crew spends at one store's tills returning goods."""


def lane_shifts(world: World, store: Store, scenario: str) -> list[Shift]:
    """The store's cashier shifts at a lane; an error if it has no lanes or cashiers."""
    shifts = [shift for shift in roster(world, store) if shift.lane is not None]
    if not shifts:
        raise SimError(f"{scenario}: store {store.uid} has no cashier on shift at a lane")
    return shifts


def first_shift(
    scenario: Scenario, world: World, rng: np.random.Generator, store: Store
) -> tuple[list[Shift], Shift, float]:
    """The store's lane shifts, and one: drawn, or the first under way at or after `at_hours`.

    Also the moment from which the shift is used: its start, or `at_hours`.
    """
    shifts = lane_shifts(world, store, scenario.name)
    if scenario.params.at_hours is None:
        shift = shifts[int(rng.integers(len(shifts)))]
        return shifts, shift, shift.start
    moment = world.span.start + scenario.params.at_hours * 3600
    later = [s for s in shifts if s.end - 600 > moment]
    if not later:
        raise SimError(
            f"{scenario.name}: no cashier on shift at a lane of store {store.uid}"
            f" after at_hours={scenario.params.at_hours:g}"
        )
    shift = min(later, key=lambda s: (max(s.start, moment), s.person.uid))
    return shifts, shift, max(shift.start, moment)


def moments(rng: np.random.Generator, shift: Shift, start: float, count: int) -> list[float]:
    """`count` sorted moments from `start` until a minute before the shift ends, off break."""
    rest = shift.rest
    cuts = [(max(start, shift.start), shift.end - 60)]
    if rest is not None:
        cuts = [(cuts[0][0], min(rest.start, cuts[0][1])), (max(rest.end, cuts[0][0]), cuts[0][1])]
    pieces = [(lo, hi) for lo, hi in cuts if hi > lo] or [(shift.end - 61, shift.end - 60)]
    edges = np.cumsum([0.0] + [hi - lo for lo, hi in pieces])
    draws = np.sort(rng.random(count) * edges[-1])
    index = np.minimum(np.searchsorted(edges, draws, side="right") - 1, len(pieces) - 1)
    return [pieces[i][0] + float(d - edges[i]) for i, d in zip(index, draws, strict=True)]


def item(seq: int, product: Product, sign: int = 1, entry: str = "scanned") -> dict[str, Any]:
    sku, desc, dept, price = product
    return {
        "seq": seq,
        "sku": sku,
        "desc": desc,
        "dept": dept,
        "qty": 1,
        "price": price,
        "amount": round(sign * price, 2),
        "entry": entry,
    }


def charge(base: dict[str, Any], rng: np.random.Generator, amount: float) -> dict[str, Any]:
    """A card tender on `base`'s card (same BIN and last4) with a fresh authorisation."""
    return base | {"amount": amount, "auth": f"{int(rng.integers(1_000_000)):06d}"}


def masked(tender: dict[str, Any]) -> str:
    return f"{tender['bin']}******{tender['last4']}"


def total(items: list[dict[str, Any]], discount: float = 0.0) -> float:
    return round((sum(float(i["amount"]) for i in items) - discount) * (1 + TAX), 2)


def at_lane(shift: Shift) -> Asset:
    if shift.lane is None:  # lane_shifts keeps only shifts at a lane
        raise SimError(f"shift of {shift.person.uid} has no lane")
    return shift.lane


def one_cashier(
    scenario: Scenario,
    rows: list[Row],
    person: Identity,
    entities: dict[str, list[str]],
    description: str,
) -> Injection:
    """The POS rows of one cashier's fraud at one store, and its truth."""
    cashier, store = person.cashier_id or person.uid, rows[0][1] or ""
    start, end = min(row[0] for row in rows), max(row[0] for row in rows)
    injection = Injection()
    injection.add(PosSource.name, PosSource.lines(rows))
    injection.truth.append(
        TruthRecord(
            scenario=scenario.name,
            uid=f"{scenario.name}-{store}-{cashier}-{int(start)}",
            label=scenario.label,
            start=start,
            end=end,
            stores=(store,),
            entities={"cashier": [cashier], "user": [person.username], **entities},
            sources=(PosSource.name,),
            description=description,
        )
    )
    return injection


@scenarios.register("sweethearting")
class Sweethearting(Scenario):
    name: ClassVar[str] = "sweethearting"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "A cashier serves a friend several times in a shift: dear items keyed in as one cheap "
        "SKU, big unexplained manual discounts, the friend's same card every time."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        _, shift, start = first_shift(self, world, rng, store)
        lane = at_lane(shift)
        cheap = sorted(catalogue(world), key=lambda p: p[3])[:50]  # under about $5
        keyed_as = cheap[int(rng.integers(8))]  # one of the cheapest, its code known by heart
        friend = card(rng, 0.0)
        cashier = shift.person.cashier_id or shift.person.uid
        visits = moments(rng, shift, start, max(3, round(5 * self.params.intensity)))
        rows: list[Row] = []
        for index, moment in enumerate(visits):
            real = int(rng.integers(1, 3))
            items = [item(n + 1, cheap[int(rng.integers(len(cheap)))]) for n in range(real)]
            rung_down = range(real + 1, real + int(rng.integers(3, 6)))  # dear items, cheap code
            items += [item(seq, keyed_as, entry="keyed") for seq in rung_down]
            off = round(sum(i["amount"] for i in items) / 2, 2) if rng.random() < 0.4 else 0.0
            discounts = [{"type": "manual", "amount": off}] if off else []  # and no reason given
            paid = total(items, off)
            txn = f"{store.uid}{lane.lane}71{index:05d}"
            tender = [charge(friend, rng, paid)]
            line = document("sale", moment, store, lane, cashier, txn, items, tender, discounts)
            rows.append((moment, store.uid, line))
        return one_cashier(
            self,
            rows,
            shift.person,
            {"device": [lane.uid], "card": [masked(friend)]},
            f"Cashier {cashier} rang {len(visits)} near-empty baskets on {lane.uid} for card "
            f"{masked(friend)}, dear items keyed in as {keyed_as[0]}.",
        )


@scenarios.register("refund_fraud")
class RefundFraud(Scenario):
    name: ClassVar[str] = "refund_fraud"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "A cashier refunds goods without a receipt, just under the manager-approval limit, to "
        "cash or a couple of cards, at quiet times over one or two of their shifts."
    )

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        store = self.pick_store(world, rng)
        shifts, shift, start = first_shift(self, world, rng, store)
        person = shift.person
        own = [s for s in shifts if s.person.uid == person.uid and s.start >= shift.start][:2]
        count = max(4, round(8 * self.params.intensity))
        candidates = np.array([t for s in own for t in moments(rng, s, start, 30 * count)])
        quiet = np.maximum(world.customer_rate(store, candidates), 0.05) ** -3.0
        times = np.sort(rng.choice(candidates, size=count, replace=False, p=quiet / quiet.sum()))
        under = [p for p in catalogue(world) if 0.85 <= p[3] * (1 + TAX) / APPROVAL_LIMIT < 1]
        cards = [card(rng, 0.0) for _ in range(2)]
        cashier = person.cashier_id or person.uid
        rows: list[Row] = []
        lanes: set[str] = set()
        used: set[str] = set()
        days: set[float] = set()
        for index, moment in enumerate(times.tolist()):
            serving = next(s for s in own if s.working(moment))
            lane = at_lane(serving)
            days.add(serving.start)
            items = [item(1, under[int(rng.integers(len(under)))], sign=-1)]
            refund = total(items)
            if rng.random() < 0.5:
                tender = {"type": "cash", "amount": refund}
            else:
                tender = charge(cards[int(rng.integers(len(cards)))], rng, refund)
                used.add(masked(tender))
            txn = f"{store.uid}{lane.lane}72{index:05d}"
            line = document("refund", moment, store, lane, cashier, txn, items, [tender])
            rows.append((moment, store.uid, line))
            lanes.add(lane.uid)
        return one_cashier(
            self,
            rows,
            person,
            {"device": sorted(lanes), "card": sorted(used)},
            f"Cashier {cashier} refunded {count} items without a receipt, each just under "
            f"${APPROVAL_LIMIT:.0f}, on {len(lanes)} lane(s) over {len(days)} shift(s).",
        )


def arrival(world: World, store: Store, after: float, rng: np.random.Generator) -> float | None:
    """When a crew coming `after` can work the store's tills for a while before closing."""
    for span in world.trading(store):
        moment = after if span.start <= after else span.start + rng.uniform(15, 90) * 60
        if moment + HIT + 600 <= span.end:
            return moment
    return None


@dataclass
class Haul:
    """What a crew leaves behind: POS and shelf rows, and who and what was involved."""

    goods: list[Product]
    card: dict[str, Any]
    pos: list[Row] = field(default_factory=list)
    iot: list[Row] = field(default_factory=list)
    stores: list[str] = field(default_factory=list)
    cashiers: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    ips: list[str] = field(default_factory=list)

    def sweep(self, rng: np.random.Generator, store: Store, shelf: Asset, moment: float) -> None:
        """The theft: the electronics shelf loses a large share of its stock in under a minute."""
        removed, seconds = round(float(rng.uniform(35, 70)), 1), int(rng.integers(20, 60))
        details = {"removed_pct": removed, "seconds": seconds}
        line = event_line(moment, store.uid, shelf, "stock_drop", details)
        self.iot.append((moment, store.uid, line))
        self.devices.append(shelf.uid)
        self.ips += [shelf.ip] if shelf.ip else []

    def refund(self, rng: np.random.Generator, store: Store, shift: Shift, moment: float) -> None:
        """One crew member returns one or two of the goods at `shift`'s till, no receipt."""
        lane, cashier = at_lane(shift), shift.person.cashier_id or shift.person.uid
        chosen = rng.choice(len(self.goods), size=int(rng.integers(1, 3)), replace=False)
        items = [item(n + 1, self.goods[int(i)], sign=-1) for n, i in enumerate(chosen)]
        txn = f"{store.uid}{lane.lane}73{len(self.pos):05d}"
        tender = [charge(self.card, rng, total(items))]
        line = document("refund", moment, store, lane, cashier, txn, items, tender)
        self.pos.append((moment, store.uid, line))
        self.cashiers += [cashier] if cashier not in self.cashiers else []
        self.devices += [lane.uid] if lane.uid not in self.devices else []


@scenarios.register("organised_retail_crime")
class OrganisedRetailCrime(Scenario):
    name: ClassVar[str] = "organised_retail_crime"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "fraud"
    description: ClassVar[str] = (
        "A crew sweeps the electronics shelf of 3-4 stores of one region in turn and returns "
        "the same dear SKUs at each store's tills without receipts, refunded onto one card."
    )

    def route(self, world: World, rng: np.random.Generator) -> list[Store]:
        """The stores in visiting order: the first (pinned or drawn), then more of its region.

        A drawn crew needs a region of two or more stores; an estate without one gets a
        single-store hit, so that every scenario runs in any estate.
        """
        if self.params.store is not None:
            first = self.pick_store(world, rng)
            region = world.estate.region_of(first.uid)
            if len(region.stores) < 2:
                raise SimError(
                    f"{self.name}: store {first.uid}'s region {region.uid} has fewer than 2 stores"
                )
        else:
            pool = [r for r in world.estate.regions if len(r.stores) > 1] or world.estate.regions
            region = pool[int(rng.integers(len(pool)))]
            first = region.stores[int(rng.integers(len(region.stores)))]
        others = [
            store
            for store in region.stores
            if store.uid != first.uid and any(s.lane for s in roster(world, store))
        ]  # a store without tills cannot refund anything
        order = rng.permutation(len(others))[: int(rng.integers(2, 4))]
        return [first, *(others[int(i)] for i in order)]

    def start(self, world: World, rng: np.random.Generator, store: Store) -> float:
        """`at_hours`, or early on a trading day that leaves time for the rest of the route."""
        if self.params.at_hours is not None:
            return world.span.start + self.params.at_hours * 3600
        spans = world.trading(store)
        if not spans:
            raise SimError(f"{self.name}: store {store.uid} does not trade in the simulated time")
        span = (spans[:-1] or spans)[int(rng.integers(max(len(spans) - 1, 1)))]
        return span.start + rng.random() * min(3 * 3600, max(span.seconds - HIT - 1800, 60))

    def visit(
        self, world: World, rng: np.random.Generator, store: Store, moment: float, haul: Haul
    ) -> None:
        """Sweep the shelf, then return the goods at several tills within `HIT` seconds."""
        shifts = lane_shifts(world, store, self.name)
        shelves = [
            a for a in world.assets(store, AssetKind.SMART_SHELF) if a.zone == "floor-electronics"
        ]
        if shelves:
            haul.sweep(rng, store, shelves[int(rng.integers(len(shelves)))], moment)
        count = max(2, round(3 * self.params.intensity))
        spread = np.sort(np.concatenate([[0.0], rng.random(count - 1)])) * HIT
        returns = moment + rng.uniform(3, 8) * 60 + spread
        served: set[str] = set()
        for at in returns.tolist():  # each crew member at a till of their own, if there is one
            working = [s for s in shifts if s.working(at)]
            fresh = [s for s in working if s.person.uid not in served] or working
            if not fresh:
                raise SimError(f"{self.name}: no cashier at a lane in store {store.uid}")
            shift = fresh[int(rng.integers(len(fresh)))]
            served.add(shift.person.uid)
            haul.refund(rng, store, shift, at)
        haul.stores.append(store.uid)

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        first, *others = self.route(world, rng)
        electronics = sorted(
            (p for p in catalogue(world) if p[2] == "electronics"), key=lambda p: -p[3]
        )
        chosen = np.sort(rng.choice(min(8, len(electronics)), size=3, replace=False))
        haul = Haul([electronics[int(i)] for i in chosen], card(rng, 0.0))
        moment = arrival(world, first, self.start(world, rng, first), rng)
        if moment is None:
            raise SimError(f"{self.name}: store {first.uid} does not trade after the crew's start")
        self.visit(world, rng, first, moment, haul)
        for store in others:  # a store the crew cannot reach before it closes is left out
            moment = arrival(world, store, haul.pos[-1][0] + rng.uniform(40, 120) * 60, rng)
            if moment is not None:
                self.visit(world, rng, store, moment, haul)
        if others and len(haul.stores) < 2:
            raise SimError(f"{self.name}: too little trading time left for the crew's route")
        injection = Injection()
        injection.add(PosSource.name, PosSource.lines(haul.pos))
        if haul.iot:
            injection.add(IotSource.name, IotSource.lines(haul.iot))
        entities = {
            "cashier": haul.cashiers,
            "device": haul.devices,
            "card": [masked(haul.card)],
            "sku": [p[0] for p in haul.goods],
            "store": haul.stores,
        } | ({"ip": haul.ips} if haul.ips else {})
        start = min(row[0] for row in haul.pos + haul.iot)
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{'-'.join(haul.stores)}-{int(start)}",
                label=self.label,
                start=start,
                end=max(row[0] for row in haul.pos),
                stores=tuple(haul.stores),
                entities=entities,
                sources=tuple(injection.rows),
                description=(
                    f"A crew swept electronics and returned {', '.join(entities['sku'])} without "
                    f"receipts at stores {', '.join(haul.stores)} onto card {masked(haul.card)}."
                ),
            )
        )
        return injection
