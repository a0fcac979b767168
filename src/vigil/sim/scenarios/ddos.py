"""Peak-season load on the web shop: a volumetric DDoS, and its benign twin, a flash sale.

Both strike in the evening (US Central) of a peak day (Black Friday, Cyber Monday)
when the simulated time has one, else of a day in the week before one, and both
multiply the shop's traffic. The attack is a UDP reflection flood (NTP, CLDAP, memcached answers from thousands of
reflectors, seen in NetFlow at the shop's edge) with an HTTP flood of the home page
that the overloaded shop answers with 503s. The flash sale is real customers:
sessions that browse, log in and pay, mostly successfully.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import ClassVar, Literal

import numpy as np

from vigil.sim.sources.netflow import SHOP_ADDRESS, SHOP_EDGE, NetflowSource
from vigil.sim.sources.web import AGENTS, PAGES, SITE, US_CENTRAL, WebAccessSource, client_ips
from vigil.sim.types import Injection, Scenario, TruthRecord, scenarios
from vigil.sim.world import World

REFLECTED = ((123, 468), (389, 1_400), (11211, 1_400))  # source port, bytes per packet


def peak_evening(world: World, rng: np.random.Generator, length: float) -> float | None:
    """A start between 19:00 and 21:00 US Central on an estate-wide peak day, or else in
    the week running up to one (the shop is busy and the stakes high), if any."""
    peak_days: list[date] = []
    week: list[date] = []
    for peak in world.estate.peaks:
        if peak.closed or peak.level < 2:
            continue
        day = peak.start - timedelta(days=6)
        while day <= peak.last_day:
            (peak_days if day >= peak.start else week).append(day)
            day += timedelta(days=1)
    for days in (peak_days, week):
        starts = _evenings(world, rng, days, length)
        if starts:
            return starts[int(rng.integers(len(starts)))]
    return None


def _evenings(
    world: World, rng: np.random.Generator, days: list[date], length: float
) -> list[float]:
    """A random start between 19:00 and 21:00 US Central on each day that fits the span."""
    starts = []
    for day in sorted(set(days)):
        evening = datetime(day.year, day.month, day.day, 19, tzinfo=UTC).timestamp() - US_CENTRAL
        moment = evening + rng.random() * 7200
        if world.span.start <= moment and moment + length < world.span.end:
            starts.append(moment)
    return starts


class _PeakLoad(Scenario):
    minutes: ClassVar[float]

    def start(self, world: World, rng: np.random.Generator) -> float:
        length = self.minutes * 60
        if self.params.at_hours is not None:
            return world.span.start + self.params.at_hours * 3600
        peak = peak_evening(world, rng, length)
        if peak is not None:
            return peak
        return world.span.start + rng.random() * max(world.span.seconds - length, 60)


@scenarios.register("ddos")
class Ddos(_PeakLoad):
    name: ClassVar[str] = "ddos"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "attack"
    description: ClassVar[str] = (
        "A volumetric DDoS on the web shop in a peak week: a UDP reflection flood from thousands of reflectors and an HTTP flood answered with 503s."
    )
    minutes: ClassVar[float] = 25

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        start = self.start(world, rng)
        end = min(start + self.minutes * 60, world.span.end - 1)
        reflectors = client_ips(world.rng("reflectors"), max(50, int(1500 * self.params.intensity)))
        minutes = np.arange(start, end - 60, 60.0)
        # One flow record per reflector per minute (the exporter's active timeout).
        ts = np.repeat(minutes, len(reflectors)) + rng.random(len(minutes) * len(reflectors))
        n = len(ts)
        kind = rng.integers(0, len(REFLECTED), len(reflectors))[
            np.tile(np.arange(len(reflectors)), len(minutes))
        ]
        packets = rng.integers(2_000, 8_000, n)
        sizes = np.array([size for _, size in REFLECTED])[kind]
        flood = NetflowSource.frame(
            {
                "ts": ts.tolist(),
                "store": [None] * n,
                "te": (ts + 59.9).tolist(),
                "sa": np.tile(reflectors, len(minutes)).tolist(),
                "da": [SHOP_ADDRESS] * n,
                "sp": np.array([port for port, _ in REFLECTED])[kind].tolist(),
                "dp": rng.integers(1024, 65535, n).tolist(),
                "pr": ["UDP"] * n,
                "flg": ["........"] * n,
                "ipkt": packets.tolist(),
                "ibyt": (packets * sizes).tolist(),
                "ra": [SHOP_EDGE] * n,
            }
        )
        bots = client_ips(
            world.rng("botnet", "http-flood"), max(20, int(400 * self.params.intensity))
        )
        requests = int((end - start) * 15 * self.params.intensity)
        times = np.sort(start + rng.random(requests) * (end - start))
        http = WebAccessSource.requests(
            times,
            bots[rng.integers(0, len(bots), requests)],
            method="GET",
            path="/",
            status=np.where(rng.random(requests) < 0.85, 503, 200),
            size=rng.integers(150, 400, requests),
            referer="-",
            agent=str(AGENTS[0]),
        )
        injection = Injection()
        injection.add(NetflowSource.name, flood)
        injection.add(WebAccessSource.name, http)
        gigabits = float(flood["ibyt"].sum()) * 8 / max(end - start, 1) / 1e9
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{int(start)}",
                label=self.label,
                start=float(min(ts.min(), times.min())),
                end=float(max(ts.max(), times.max())),
                stores=(),
                entities={
                    "ip": [
                        SHOP_ADDRESS,
                        *sorted(set(reflectors.tolist()))[:50],
                        *sorted(set(bots.tolist()))[:50],
                    ],
                    "url": ["/"],
                },
                sources=(NetflowSource.name, WebAccessSource.name),
                description=(
                    f"{len(reflectors)} reflectors flood {SHOP_ADDRESS} at about {gigabits:.1f} Gbit/s "
                    f"for {(end - start) / 60:.0f} minutes, with {requests} HTTP requests from {len(bots)} bots."
                ),
            )
        )
        return injection


@scenarios.register("flash_sale")
class FlashSale(_PeakLoad):
    name: ClassVar[str] = "flash_sale"
    label: ClassVar[Literal["attack", "fraud", "benign"]] = "benign"
    description: ClassVar[str] = (
        "A real peak-day spike: a flash sale brings thousands of shoppers at once, who browse, log in and pay."
    )
    minutes: ClassVar[float] = 40

    def inject(self, world: World) -> Injection:
        rng = world.rng("scenario", self.name, str(self.params))
        start = self.start(world, rng)
        length = min(self.minutes * 60, world.span.end - 1 - start)
        sessions = int(4000 * self.params.intensity)
        first = np.sort(start + rng.exponential(length / 4, sessions).clip(0, length * 0.8))
        pages = rng.integers(3, 9, sessions)
        owner = np.repeat(np.arange(sessions), pages)
        ts = first[owner] + np.concatenate(
            [np.sort(rng.exponential(20, k)).cumsum() for k in pages]
        )
        ts = np.minimum(ts, start + length)
        path = PAGES[rng.integers(0, len(PAGES), len(ts))].astype(object)
        method = np.full(len(ts), "GET", dtype=object)
        status = np.full(len(ts), 200)
        last = np.cumsum(pages) - 1
        login = last - 1
        path[login], method[login] = "/account/login", "POST"
        status[login] = np.where(rng.random(sessions) < 0.9, 302, 401)
        buyers = last[rng.random(sessions) < 0.35]
        path[buyers], method[buyers] = "/api/payment/authorize", "POST"
        status[buyers] = np.where(rng.random(len(buyers)) < 0.95, 200, 402)
        ips = client_ips(rng, sessions)
        frame = WebAccessSource.requests(
            ts,
            ips[owner],
            method=method.astype(str),
            path=path.astype(str),
            status=status,
            size=rng.integers(2_000, 60_000, len(ts)),
            referer=f"{SITE}/",
            agent=AGENTS[rng.integers(0, len(AGENTS), sessions)][owner],
        )
        injection = Injection()
        injection.add(WebAccessSource.name, frame.sort("ts"))
        injection.truth.append(
            TruthRecord(
                scenario=self.name,
                uid=f"{self.name}-{int(start)}",
                label=self.label,
                start=float(ts.min()),
                end=float(ts.max()),
                stores=(),
                entities={"ip": sorted(set(ips.tolist()))[:50], "url": ["/api/payment/authorize"]},
                sources=(WebAccessSource.name,),
                description=(
                    f"{sessions} shoppers arrive within {length / 60:.0f} minutes; "
                    f"{len(buyers)} pay, {int((status[login] == 401).sum())} mistype a password."
                ),
            )
        )
        return injection
