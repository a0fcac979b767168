"""The simulated world: estate, time span, trading hours and the rhythm of a day.

Times are float seconds since the epoch (UTC) in numpy arrays; sources draw from
per-(source, store) random streams derived from the seed, so one store's output
does not change when another store is added.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from vigil.estate import Estate, Identity, Store
from vigil.estate.types import Asset, AssetKind, IdentityKind

# Share of a store's daily customers arriving in each local hour (a retail day:
# late-morning rise, lunch bump, after-work peak).
HOURLY = np.array(
    [
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0.2,
        0.5,
        0.8,
        1.0,
        1.2,
        1.4,
        1.2,
        1.0,
        1.0,
        1.2,
        1.5,
        1.6,
        1.3,
        0.9,
        0.6,
        0.3,
        0.1,
    ]
)
WEEKDAY = np.array([0.85, 0.85, 0.9, 0.95, 1.15, 1.4, 1.0])  # Monday first
PEAK_MULTIPLIER = {0: 1.0, 1: 1.3, 2: 1.8, 3: 3.2}


@dataclass(frozen=True)
class Interval:
    """A span of simulated time, epoch seconds."""

    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class World:
    """Everything sources and scenarios share: estate, time span, seeded randomness."""

    def __init__(self, estate: Estate, start: datetime, days: float, seed: int) -> None:
        self.estate = estate
        self.start = start.astimezone(UTC)
        self.end = self.start + timedelta(days=days)
        self.seed = seed

    @property
    def span(self) -> Interval:
        return Interval(self.start.timestamp(), self.end.timestamp())

    def rng(self, *names: str) -> np.random.Generator:
        """A random stream that depends only on the seed and the names."""
        digest = hashlib.sha256("/".join(names).encode()).digest()
        return np.random.default_rng([self.seed, int.from_bytes(digest[:8], "little")])

    def trading(self, store: Store) -> list[Interval]:
        """The store's opening spans inside the simulated time, calendar closures removed."""
        spans = []
        local_start = store.local(self.start).date() - timedelta(days=1)
        local_end = store.local(self.end).date()
        day = local_start
        while day <= local_end:
            peak = self.estate.peak_on(store, day)
            if peak is None or not peak.closed:
                for opens, closes in store.hours_on(day):
                    begin = datetime.combine(day, opens, store.tz)
                    finish = datetime.combine(
                        day + timedelta(days=closes <= opens), closes, store.tz
                    )
                    lo, hi = max(begin, self.start), min(finish, self.end)
                    if lo < hi:
                        spans.append(Interval(lo.timestamp(), hi.timestamp()))
            day += timedelta(days=1)
        return spans

    def customer_rate(self, store: Store, times: np.ndarray) -> np.ndarray:
        """Relative customer intensity at each time: hour of day x weekday x peak level."""
        utc_hours = (times // 3600).astype(np.int64)
        offsets = {
            int(hour): (
                datetime.fromtimestamp(hour * 3600, store.tz).utcoffset() or timedelta(0)
            ).total_seconds()
            for hour in np.unique(utc_hours)
        }
        local = (
            times + np.array([offsets[int(hour)] for hour in utc_hours]) if len(times) else times
        )
        hours = ((local // 3600) % 24).astype(int)
        weekdays = ((local // 86400 + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
        rate = HOURLY[hours] * WEEKDAY[weekdays]
        days = (local // 86400).astype(int)
        for day in np.unique(days):
            peak = self.estate.peak_on(store, datetime.fromtimestamp(day * 86400, UTC).date())
            if peak is not None and not peak.closed:
                rate[days == day] *= PEAK_MULTIPLIER[peak.level]
        return np.asarray(rate, dtype=np.float64)

    def arrivals(self, store: Store, per_hour: float, rng: np.random.Generator) -> np.ndarray:
        """Sorted arrival times during trading hours, `per_hour` at an average hour."""
        minutes = [np.arange(span.start, span.end, 60.0) for span in self.trading(store)]
        if not minutes:
            return np.empty(0)
        starts = np.concatenate(minutes)
        lam = per_hour / 60.0 * self.customer_rate(store, starts)
        counts = rng.poisson(lam)
        times = np.repeat(starts, counts) + rng.random(int(counts.sum())) * 60.0
        return np.sort(np.minimum(times, self.span.end - 0.001))

    def staff(self, store: Store, kind: IdentityKind | None = None) -> list[Identity]:
        return [
            i
            for i in self.estate.identities
            if store.uid in i.stores and (kind is None or i.kind == kind)
        ]

    def assets(self, store: Store, *kinds: AssetKind) -> list[Asset]:
        return [asset for asset in store.assets if asset.kind in kinds]
