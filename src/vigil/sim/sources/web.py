"""The web shop's access log, in the combined log format nginx and Apache write.

`203.0.113.7 - - [23/Nov/2026:14:02:11 +0000] "POST /api/payment/authorize HTTP/1.1"
402 187 "https://shop.example/checkout" "Mozilla/5.0 ..."`. Payment results are
visible as status codes on `/api/payment/authorize` (200 approved, 402 declined),
logins on `/account/login` (302 success, 401 failure).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
import polars as pl

from vigil.sim.types import Source, sources
from vigil.sim.world import HOURLY, PEAK_MULTIPLIER, World

SITE = "https://shop.northwind.example"
PAGES = np.array(
    [
        "/",
        "/search?q=jacket",
        "/c/outdoor",
        "/c/apparel",
        "/c/electronics",
        "/p/4411",
        "/p/2087",
        "/p/9310",
        "/cart",
        "/checkout",
        "/account",
    ]
)
AGENTS = np.array(
    [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
        "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36",
    ]
)
# Shoppers' home networks: a few residential ISP ranges.
CLIENT_BASES = np.array(
    [
        int(ipaddress.IPv4Address(a))
        for a in ("24.0.0.0", "67.160.0.0", "73.0.0.0", "98.200.0.0", "174.48.0.0")
    ]
)
US_CENTRAL = -6 * 3600


def _peak_multiplier(world: World, local_seconds: float) -> float:
    day = datetime.fromtimestamp(local_seconds, UTC).date()
    levels = [p.level for p in world.estate.peaks if p.start <= day <= p.last_day and not p.closed]
    return PEAK_MULTIPLIER[max(levels)] if levels else 1.0


def client_ips(rng: np.random.Generator, count: int) -> np.ndarray:
    numbers = CLIENT_BASES[rng.integers(0, len(CLIENT_BASES), count)] + rng.integers(
        1, 1_000_000, count
    )
    return np.array([str(ipaddress.IPv4Address(int(n))) for n in numbers])


@sources.register("web")
class WebAccessSource(Source):
    name: ClassVar[str] = "web"
    path: ClassVar[str] = "web/access.log"
    per_store: ClassVar[bool] = False
    schema: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.Float64(),
        "store": pl.String(),
        "ip": pl.String(),
        "user": pl.String(),
        "method": pl.String(),
        "path": pl.String(),
        "status": pl.Int64(),
        "bytes": pl.Int64(),
        "referer": pl.String(),
        "agent": pl.String(),
    }

    @classmethod
    def requests(
        cls,
        times: np.ndarray,
        ips: np.ndarray,
        *,
        method: str | np.ndarray,
        path: str | np.ndarray,
        status: int | np.ndarray,
        size: int | np.ndarray,
        referer: str,
        agent: str | np.ndarray,
    ) -> pl.DataFrame:
        """Injected rows: one request per time, a scalar standing for every row."""
        n = len(times)

        def each(value: object) -> list[object]:
            return list(value.tolist()) if isinstance(value, np.ndarray) else [value] * n

        return cls.frame(
            {
                "ts": each(times),
                "store": [None] * n,
                "ip": each(ips),
                "user": [None] * n,
                "method": each(method),
                "path": each(path),
                "status": each(status),
                "bytes": each(size),
                "referer": [referer] * n,
                "agent": each(agent),
            }
        )

    def generate_estate(self, world: World) -> pl.DataFrame:
        rng = world.rng("web")
        span = world.span
        hours = np.arange(span.start, span.end, 3600.0)
        local_hour = (((hours + US_CENTRAL) // 3600) % 24).astype(int)
        peak = np.array([_peak_multiplier(world, t + US_CENTRAL) for t in hours])
        sessions_per_hour = rng.poisson(120 * (0.25 + HOURLY[local_hour]) * peak)
        starts = (
            np.repeat(hours, sessions_per_hour) + rng.random(int(sessions_per_hour.sum())) * 3600
        )
        n = len(starts)
        ips, agents = client_ips(rng, n), AGENTS[rng.integers(0, len(AGENTS), n)]
        pages = rng.integers(2, 9, n)
        session = np.repeat(np.arange(n), pages)
        ts = starts[session] + np.concatenate(
            [np.sort(rng.exponential(25, k)).cumsum() for k in pages]
        )
        path = PAGES[rng.integers(0, len(PAGES), len(ts))].astype(object)
        method = np.full(len(ts), "GET", dtype=object)
        status = np.where(rng.random(len(ts)) < 0.02, 404, 200)
        size = rng.integers(2_000, 60_000, len(ts))
        # A share of sessions log in, and a share of those buy.
        last = np.cumsum(pages) - 1
        buyers = last[rng.random(n) < 0.06]
        login = last[rng.random(n) < 0.1]
        path[login], method[login] = "/account/login", "POST"
        status[login] = np.where(rng.random(len(login)) < 0.93, 302, 401)
        path[buyers], method[buyers] = "/api/payment/authorize", "POST"
        status[buyers] = np.where(rng.random(len(buyers)) < 0.96, 200, 402)
        size[login] = 0
        size[buyers] = rng.integers(150, 220, len(buyers))
        frame = pl.DataFrame(
            {
                "ts": ts,
                "store": None,
                "ip": ips[session],
                "user": None,
                "method": method.astype(str),
                "path": path.astype(str),
                "status": status,
                "bytes": size,
                "referer": np.where(rng.random(len(ts)) < 0.7, SITE + "/", "-"),
                "agent": agents[session],
            },
            schema=self.schema,
        )
        return frame

    def render(self, frame: pl.DataFrame) -> pl.Series:
        stamp = pl.from_epoch((pl.col("ts") * 1000).cast(pl.Int64), time_unit="ms").dt.strftime(
            "%d/%b/%Y:%H:%M:%S +0000"
        )
        return frame.select(
            pl.concat_str(
                [
                    pl.col("ip"),
                    pl.lit(" - "),
                    pl.col("user").fill_null("-"),
                    pl.lit(" ["),
                    stamp,
                    pl.lit('] "'),
                    pl.col("method"),
                    pl.lit(" "),
                    pl.col("path"),
                    pl.lit(' HTTP/1.1" '),
                    pl.col("status").cast(pl.String),
                    pl.lit(" "),
                    pl.col("bytes").cast(pl.String),
                    pl.lit(' "'),
                    pl.col("referer").fill_null("-"),
                    pl.lit('" "'),
                    pl.col("agent").fill_null("-"),
                    pl.lit('"'),
                ]
            ).alias("line")
        )["line"]
