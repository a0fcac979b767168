from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vigil.estate import Estate
from vigil.sim import ScenarioParams, SimError, World, generate_estate, scenarios, simulate
from vigil.sim.scenarios.till_fraud import APPROVAL_LIMIT
from vigil.sim.shifts import roster
from vigil.sim.sources.pos import PosSource
from vigil.sim.types import Injection, TruthRecord

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
NAMES = ("sweethearting", "refund_fraud", "organised_retail_crime")
PREFIX = {"sweethearting": "71", "refund_fraud": "72", "organised_retail_crime": "73"}
"""What each scenario's transaction ids carry after the store and lane."""
Record = dict[str, Any]


def _world(stores: int = 12, seed: int = 3, days: float = 2) -> World:
    return World(generate_estate(stores, seed=seed), START, days=days, seed=seed)


@pytest.fixture(scope="module")
def world() -> World:
    """Twelve stores: three to a region, so a crew has a route."""
    return _world()


@pytest.fixture(scope="module")
def benign(world: World) -> list[Record]:
    """The benign till transactions of every store, as a detector reads them."""
    span = world.span
    return [
        record
        for store in world.estate.stores
        for record in map(json.loads, PosSource().generate(world, store)["line"].to_list())
        if span.start <= _stamp(record["ts"]) < span.end and not record["self_checkout"]
    ]


@pytest.fixture(scope="module")
def injected(world: World) -> dict[str, Injection]:
    return {name: scenarios.get(name)().inject(world) for name in NAMES}


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _lines(injection: Injection, source: str = "pos") -> list[Record]:
    return [
        json.loads(line)
        for frame in injection.rows.get(source, [])
        for line in frame["line"].to_list()
    ]


def _truth(injection: Injection) -> TruthRecord:
    (record,) = injection.truth
    return record


def _masked(tender: Record) -> str:
    """A card as truth names it; cash is just "cash"."""
    if tender["type"] != "card":
        return "cash"
    return f"{tender.get('bin')}******{tender.get('last4')}"


def test_sweethearting_baskets_are_far_cheaper_per_item_than_peers(
    injected: dict[str, Injection], benign: list[Record]
) -> None:
    injection = injected["sweethearting"]
    truth, sales = _truth(injection), _lines(injection)
    (store,), (cashier,), (friend,) = (
        truth.stores,
        truth.entities["cashier"],
        truth.entities["card"],
    )
    flagged = [r for r in sales if r["cashier"] == cashier and _masked(r["tenders"][0]) == friend]
    assert len(flagged) == len(sales) >= 3  # the same card, again and again, at one cashier
    peers = [r for r in benign if r["store"] == store and r["type"] == "sale"]
    assert not [r for r in peers if r["tenders"] and _masked(r["tenders"][0]) == friend]

    def per_item(records: list[Record]) -> float:
        return float(statistics.median(r["total"] / len(r["items"]) for r in records))

    assert per_item(flagged) < 0.25 * per_item(peers)
    keyed = [i["entry"] == "keyed" for r in flagged for i in r["items"]]
    peer_keyed = [i["entry"] == "keyed" for r in peers for i in r["items"]]
    assert sum(keyed) / len(keyed) > 0.4 > 0.1 > sum(peer_keyed) / len(peer_keyed)
    assert all(len(r["items"]) >= 3 for r in flagged)


def test_refund_fraudster_refunds_without_receipt_far_more_than_peers(
    world: World, injected: dict[str, Injection], benign: list[Record]
) -> None:
    injection = injected["refund_fraud"]
    truth, refunds = _truth(injection), _lines(injection)
    (cashier,) = truth.entities["cashier"]
    no_receipt = Counter(
        r["cashier"]
        for r in benign + refunds
        if r["type"] == "refund" and r["orig_receipt"] is None
    )
    theirs = no_receipt.pop(cashier)
    assert theirs >= 8
    assert theirs >= 3 * max(no_receipt.values())
    amounts = [-r["total"] for r in refunds]
    assert all(0.85 * APPROVAL_LIMIT <= amount < APPROVAL_LIMIT for amount in amounts)
    cards = {_masked(t) for r in refunds for t in r["tenders"] if t["type"] == "card"}
    assert {t["type"] for r in refunds for t in r["tenders"]} <= {"cash", "card"}
    assert 1 <= len(cards) <= 2
    assert cards == set(truth.entities["card"])
    store = world.estate.store(truth.stores[0])
    sales = np.array([_stamp(r["ts"]) for r in benign if r["store"] == store.uid])
    times = np.array([_stamp(r["ts"]) for r in refunds])
    assert world.customer_rate(store, times).mean() < 0.8 * world.customer_rate(store, sales).mean()


def test_crew_hits_stores_of_one_region_in_turn_with_the_same_goods_and_card(
    world: World, injected: dict[str, Injection]
) -> None:
    injection = injected["organised_retail_crime"]
    truth, refunds = _truth(injection), _lines(injection)
    stores = truth.stores
    assert len(set(stores)) == len(stores) >= 3
    assert len({world.estate.region_of(uid).uid for uid in stores}) == 1
    by_store = {uid: [r for r in refunds if r["store"] == uid] for uid in stores}
    firsts = [min(_stamp(r["ts"]) for r in by_store[uid]) for uid in stores]
    assert firsts == sorted(firsts)
    skus = set(truth.entities["sku"])
    for records in by_store.values():
        times = [_stamp(r["ts"]) for r in records]
        assert len(records) >= 2
        assert max(times) - min(times) <= 15 * 60
        assert {i["sku"] for r in records for i in r["items"]} <= skus
        assert all(
            i["dept"] == "electronics" and i["price"] > 50 for r in records for i in r["items"]
        )
        assert all(r["type"] == "refund" and r["orig_receipt"] is None for r in records)
        assert {_masked(t) for r in records for t in r["tenders"]} == set(truth.entities["card"])
        assert len({r["cashier"] for r in records}) >= 2  # the crew spreads over the tills
    sweeps = _lines(injection, "iot")
    assert [s["topic"].split("/")[1] for s in sweeps] == list(stores)
    for sweep, first in zip(sweeps, firsts, strict=True):
        assert sweep["payload"]["event"] == "stock_drop"
        assert 0 < first - _stamp(sweep["ts"]) <= 10 * 60  # the theft, then the returns


@pytest.mark.parametrize("name", NAMES)
def test_every_till_transaction_is_rung_by_a_cashier_on_shift_at_that_lane(
    world: World, injected: dict[str, Injection], name: str
) -> None:
    records = _lines(injected[name])
    assert records
    for record in records:
        moment = _stamp(record["ts"])
        serving = [
            s
            for s in roster(world, world.estate.store(record["store"]))
            if s.lane is not None
            and s.lane.uid == record["terminal"]
            and s.person.cashier_id == record["cashier"]
            and s.working(moment)
        ]
        assert serving, f"{name} {record['txn']}: {record['cashier']} is not at that till"
        assert world.estate.is_open(
            world.estate.store(record["store"]), datetime.fromtimestamp(moment, UTC)
        )


@pytest.mark.parametrize("name", NAMES)
def test_truth_bounds_the_injected_rows(
    world: World, injected: dict[str, Injection], benign: list[Record], name: str
) -> None:
    injection = injected[name]
    truth = _truth(injection)
    times = [ts for frames in injection.rows.values() for f in frames for ts in f["ts"].to_list()]
    assert truth.start == min(times)
    assert truth.end == max(times)
    assert world.span.start <= truth.start <= truth.end < world.span.end
    assert truth.label == "fraud"
    assert set(truth.sources) == set(injection.rows)
    assert set(truth.stores) == {r["store"] for r in _lines(injection)}
    assert set(truth.entities["cashier"]) == {r["cashier"] for r in _lines(injection)}
    txns = {r["txn"] for r in _lines(injection)}
    assert len(txns) == len(_lines(injection))
    assert not txns & {r["txn"] for r in benign}


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_bytes(name: str) -> None:
    def render(world: World) -> tuple[list[str], list[dict[str, object]]]:
        injection = scenarios.get(name)().inject(world)
        lines = [line for frames in injection.rows.values() for f in frames for line in f["line"]]
        return lines, [t.as_dict() for t in injection.truth]

    assert render(_world()) == render(_world())
    assert render(_world()) != render(_world(seed=4))


@pytest.mark.parametrize("name", NAMES)
def test_intensity_scales_the_volume(world: World, name: str) -> None:
    def count(intensity: float) -> int:
        injection = scenarios.get(name)(ScenarioParams(intensity=intensity)).inject(world)
        return len(_lines(injection))

    assert count(3.0) > 2 * count(1.0)


@pytest.mark.parametrize("name", NAMES)
def test_at_hours_and_store_pin_the_start(world: World, name: str) -> None:
    params = ScenarioParams(store="005", at_hours=30.0)
    truth = _truth(scenarios.get(name)(params).inject(world))
    assert truth.stores[0] == "005"
    assert world.span.start + 30 * 3600 <= truth.start < world.span.start + 48 * 3600


def _without_tills(estate: Estate, uid: str) -> Estate:
    def strip(store: Any) -> Any:
        kept = [a for a in store.assets if a.kind != "pos_terminal"]
        return store.model_copy(update={"assets": kept}) if store.uid == uid else store

    regions = [
        r.model_copy(update={"stores": [strip(s) for s in r.stores]}) for r in estate.regions
    ]
    return estate.model_copy(update={"regions": regions})


@pytest.mark.parametrize(
    ("name", "stores", "params", "strip", "message"),
    [
        *[(name, 12, {"store": "999"}, False, "no store '999'") for name in NAMES],
        *[
            (name, 12, {"store": "002"}, True, "store 002 has no cashier on shift at a lane")
            for name in NAMES
        ],
        *[
            (name, 12, {"store": "002", "at_hours": 47.9}, False, "store 002.* after")
            for name in NAMES
        ],
        ("organised_retail_crime", 4, {"store": "002"}, False, "region central has fewer than 2"),
    ],
)
def test_bad_store_or_start_is_a_clear_error(
    name: str, stores: int, params: dict[str, Any], strip: bool, message: str
) -> None:
    estate = generate_estate(stores, seed=3)
    world = World(_without_tills(estate, "002") if strip else estate, START, days=2, seed=3)
    with pytest.raises(SimError, match=message):
        scenarios.get(name)(ScenarioParams(**params)).inject(world)


def test_crew_in_an_estate_of_single_store_regions_hits_one_store() -> None:
    world = _world(stores=4)  # one store to a region: a drawn crew still runs
    truth = _truth(scenarios.get("organised_retail_crime")().inject(world))
    assert len(truth.stores) == 1
    assert len(truth.entities["cashier"]) >= 1


def test_simulated_files_carry_the_frauds_where_truth_says(tmp_path: Path) -> None:
    world = _world(stores=8, days=1)
    simulate(world, [scenarios.get(name)() for name in NAMES], tmp_path)
    truth = {
        r["scenario"]: r
        for r in map(json.loads, (tmp_path / "truth.jsonl").read_text().splitlines())
    }
    assert set(truth) == set(NAMES)
    pos = [
        json.loads(line)
        for line in (tmp_path / "pos" / "transactions.jsonl").read_text().splitlines()
    ]
    for name, record in truth.items():
        start, end = _stamp(record["start"]), _stamp(record["end"])
        rows = [r for r in pos if r["txn"][len(r["store"]) + 1 :].startswith(PREFIX[name])]
        assert rows, name
        assert {r["store"] for r in rows} == set(record["stores"])
        assert {r["cashier"] for r in rows} == set(record["entities"]["cashier"])
        assert all(start <= _stamp(r["ts"]) <= end for r in rows)
        cards = {_masked(t) for r in rows for t in r["tenders"] if t["type"] == "card"}
        assert cards == set(record["entities"]["card"])
    crew = truth["organised_retail_crime"]
    assert len(crew["stores"]) == 2  # eight stores: two to a region
    sweeps = [
        json.loads(line)
        for line in (tmp_path / "iot" / "mqtt.jsonl").read_text().splitlines()
        if '"stock_drop"' in line
    ]
    assert [s["topic"].split("/")[1] for s in sweeps] == crew["stores"]
