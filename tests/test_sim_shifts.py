from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from vigil.estate.types import IdentityKind
from vigil.sim import World, generate_estate
from vigil.sim.shifts import roster
from vigil.sim.sources.access import AlarmSource, DoorSource
from vigil.sim.sources.pos import PosSource

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return World(generate_estate(3, seed=5), START, days=3, seed=5)


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_every_trading_minute_has_a_cashier_and_breaks_are_staggered(world: World) -> None:
    for store in world.estate.stores:
        shifts = [s for s in roster(world, store) if s.lane is not None]
        for span in world.trading(store):
            for moment in range(int(span.start), int(span.end), 300):
                on_site = [s for s in shifts if s.start <= moment < s.end]
                assert on_site, f"store {store.uid} has no cashier at {moment}"
                assert any(s.working(moment) for s in on_site)
        assert any(s.rest is not None for s in shifts)


def test_cashiers_get_days_off(world: World) -> None:
    store = world.estate.stores[0]
    cashiers = world.staff(store, IdentityKind.CASHIER)
    days = len(world.trading(store))
    worked = {c.uid: 0 for c in cashiers}
    for shift in roster(world, store):
        if shift.person.uid in worked:
            worked[shift.person.uid] += 1
    assert all(count <= days for count in worked.values())
    assert sum(worked.values()) < days * len(cashiers)


def test_sales_are_rung_by_the_cashier_on_shift_at_that_lane(world: World) -> None:
    for store in world.estate.stores:
        shifts = roster(world, store)
        lines = PosSource().generate(world, store)["line"].to_list()
        checked = 0
        for record in map(json.loads, lines):
            if record["self_checkout"]:
                continue
            moment = _stamp(record["ts"])
            serving = [
                s
                for s in shifts
                if s.lane is not None
                and s.lane.uid == record["terminal"]
                and s.person.cashier_id == record["cashier"]
                and s.start <= moment < s.end
            ]
            assert serving, f"{record['txn']}: {record['cashier']} is not on shift there"
            checked += 1
        assert checked > 500


def test_doors_and_alarm_follow_the_roster(world: World) -> None:
    store = world.estate.stores[1]
    shifts = roster(world, store)
    doors = [json.loads(line) for line in DoorSource().generate(world, store)["line"].to_list()]
    alarms = sorted(
        (json.loads(line) for line in AlarmSource().generate(world, store)["line"].to_list()),
        key=lambda r: r["ts"],
    )
    for shift in shifts:
        mine = [
            _stamp(d["ts"])
            for d in doors
            if d["user"] == shift.person.username and d["door"].endswith("staff-entrance")
        ]
        assert any(shift.start - 16 * 60 <= t <= shift.start for t in mine)
        assert any(shift.end <= t <= shift.end + 11 * 60 for t in mine)
    assert [a["event"] for a in alarms[:2]] == ["disarmed", "armed"]
    armed = [(_stamp(a["ts"]), a["event"]) for a in alarms]
    for door in doors:
        moment = _stamp(door["ts"])
        last = [event for t, event in armed if t <= moment]
        if door["door"].endswith("stockroom") and door["event"] == "granted":
            assert last[-1:] == ["disarmed"], "a stockroom badge while the alarm is armed"
