"""Staff rosters: who works when, on which till, with breaks and days off.

Each trading day is cut into consecutive blocks of at most eight hours (early
and late shifts). Cashiers get a day off now and then, are spread over the
blocks and each takes a lane; shifts longer than six hours have a 30-minute
break (unless the cashier is alone on the block), staggered so that lanes
close one at a time. The manager opens (arrives
before opening, disarms the alarm) and security closes (leaves after closing,
arms it). Everything is drawn from the seed, per store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vigil.estate import Identity, Store
from vigil.estate.types import Asset, AssetKind, IdentityKind
from vigil.sim.world import Interval, World

BLOCK = 8 * 3600.0
BREAK = 30 * 60.0
OPENER_LEAD = 45 * 60.0
CLOSER_TAIL = 45 * 60.0


@dataclass(frozen=True)
class Shift:
    """One person's shift: when they are on site, at which lane, and their break."""

    person: Identity
    start: float
    end: float
    lane: Asset | None = None
    rest: Interval | None = None

    @property
    def badge(self) -> str:
        return f"B{self.person.uid[1:]}"

    def working(self, moment: float) -> bool:
        """On shift and not on break at `moment`."""
        if not self.start <= moment < self.end:
            return False
        return self.rest is None or not self.rest.start <= moment < self.rest.end


def roster(world: World, store: Store) -> list[Shift]:
    """Every shift at `store` in the simulated time, in start order."""
    rng = world.rng("shifts", store.uid)
    cashiers = world.staff(store, IdentityKind.CASHIER)
    managers = world.staff(store, IdentityKind.MANAGER)
    security = world.staff(store, IdentityKind.SECURITY)
    lanes = world.assets(store, AssetKind.POS_TERMINAL)
    shifts: list[Shift] = []
    for span in world.trading(store):
        shifts += _cashier_shifts(rng, span, cashiers, lanes)
        if managers:
            person = managers[int(rng.integers(len(managers)))]
            start = span.start - OPENER_LEAD - rng.uniform(0, 10 * 60)
            shifts.append(Shift(person, start, min(start + 9 * 3600, span.end + CLOSER_TAIL)))
        if security:
            person = security[int(rng.integers(len(security)))]
            end = span.end + CLOSER_TAIL + rng.uniform(0, 10 * 60)
            shifts.append(Shift(person, max(end - 9 * 3600, span.start - OPENER_LEAD), end))
    return sorted(shifts, key=lambda shift: (shift.start, shift.person.uid))


def _cashier_shifts(
    rng: np.random.Generator, span: Interval, cashiers: list[Identity], lanes: list[Asset]
) -> list[Shift]:
    if not cashiers:
        return []
    blocks = max(1, math.ceil(span.seconds / BLOCK))
    working = [person for person in cashiers if rng.random() < 0.8]
    while len(working) < min(blocks, len(cashiers)):  # never leave a block unstaffed
        extra = cashiers[int(rng.integers(len(cashiers)))]
        if extra not in working:
            working.append(extra)
    order = rng.permutation(len(working))
    length = span.seconds / blocks
    shifts = []
    for rank, index in enumerate(order):
        block, seat = rank % blocks, rank // blocks
        start = span.start + block * length
        end = span.start + (block + 1) * length
        lane = lanes[seat % len(lanes)] if lanes else None
        colleagues = len(range(block, len(working), blocks))
        rest = None
        if end - start > 6 * 3600 and colleagues > 1:  # a lone cashier keeps the till open
            middle = start + (end - start) / 2 + (seat - 1) * BREAK
            rest = Interval(middle, middle + BREAK)
        shifts.append(Shift(working[int(index)], start, end, lane, rest))
    return shifts
