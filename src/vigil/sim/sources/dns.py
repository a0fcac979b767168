"""Zeek `dns.log` (TSV) for every store: device look-ups, back-office browsing, guest Wi-Fi.

Store devices ask the store server (or the firewall where there is none), which is
authoritative for the estate's internal zone; guests (the visits of `vigil.sim.guests`,
from their DHCP address while they are on the Wi-Fi) ask the firewall's guest
interface. A question is drawn from a weighted table of (name, type, answers);
answers are stable per name and TTLs count down in the resolver's cache.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.guests import guest_visits
from vigil.sim.sources.network import CONNECTION, ZeekLog, zeek_time, zeek_uids
from vigil.sim.types import sources
from vigil.sim.world import World

FIELDS = (
    "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\t"
    "qclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\t"
    "answers\tTTLs\trejected"
)
TYPES = (
    "time\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\t"
    "count\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\t"
    "vector[interval]\tbool"
)
QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "HTTPS": 65}
RCODES = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3, "REFUSED": 5}
POPULAR = [
    "www.google.com",
    "connectivitycheck.gstatic.com",
    "captive.apple.com",
    "i.instagram.com",
    "graph.facebook.com",
    "www.youtube.com",
    "g.whatsapp.net",
    "www.tiktok.com",
    "mask.icloud.com",
    "www.amazon.com",
    "fonts.googleapis.com",
    "www.apple.com",
    "open.spotify.com",
    "www.reddit.com",
    "www.bing.com",
    "en.wikipedia.org",
    "www.netflix.com",
    "weather.com",
    "www.walmart.com",
    "www.target.com",
]
CORPORATE = [
    "login.microsoftonline.com",
    "outlook.office365.com",
    "teams.microsoft.com",
    "northwind.sharepoint.com",
]
PROVIDERS = tuple(
    int(ipaddress.IPv4Address(a))
    for a in ("151.101.0.0", "142.250.0.0", "104.16.0.0", "13.32.0.0", "23.192.0.0")
)
QUESTION = {
    "query": pl.String(),
    "qtype_name": pl.String(),
    "rcode_name": pl.String(),
    "answers": pl.String(),
    "ttl": pl.Int64(),
    "weight": pl.Float64(),
}
"""A table of questions a client may ask, with their answers and how often."""
EDGE = 0.001
"""Guest look-ups keep this far inside their visit, so they stay in it at microsecond precision."""


@dataclass(frozen=True)
class DeviceLookup:
    """A name a kind of device resolves every `period` seconds (it expires from its cache)."""

    kinds: tuple[AssetKind, ...]
    name: str  # "server" for the store server's own name
    answer: str
    ttl: int
    period: float


TILLS = (AssetKind.POS_TERMINAL, AssetKind.SELF_CHECKOUT)
VIDEO = (AssetKind.CAMERA, AssetKind.NVR)
SHELVES = (AssetKind.SMART_SHELF, AssetKind.IOT_GATEWAY)
DOORS = (AssetKind.DOOR_CONTROLLER, AssetKind.ALARM_PANEL)
DEVICES = (
    DeviceLookup(TILLS, "server", "", 1200, 600),
    DeviceLookup(TILLS, "gw.paynorth-gateway.net", "198.51.100.20", 300, 300),
    DeviceLookup(VIDEO, "pool.ntp.org", "192.0.2.123", 130, 1024),
    DeviceLookup(VIDEO, "cloud.axis.com", "52.20.14.7", 600, 3600),
    DeviceLookup(SHELVES, "esl.hanshow.com", "34.120.10.5", 300, 300),
    DeviceLookup((AssetKind.HVAC,), "webs.honeywell.com", "20.50.1.9", 300, 300),
    DeviceLookup(DOORS, "connect.hidglobal.com", "35.190.2.44", 600, 600),
)


def _answers(name: str, qtype: str) -> str | None:
    """Stable answers for a public name: 1-4 addresses, sometimes behind a CDN alias."""
    digest = hashlib.sha256(f"{name}/{qtype}".encode()).digest()
    count = 1 + digest[0] % 4
    if qtype == "AAAA":
        if digest[1] % 3 == 0:  # IPv4-only name: NOERROR without answers
            return None
        hosts = [f"2606:4700::{digest[2 + i]:x}{digest[10 + i]:02x}" for i in range(count)]
    else:
        base = PROVIDERS[digest[1] % len(PROVIDERS)]
        offsets = [int.from_bytes(digest[2 + 2 * i : 4 + 2 * i], "big") for i in range(count)]
        hosts = [str(ipaddress.IPv4Address(base + o)) for o in offsets]
    alias = [f"{name}.cdn.cloudflare.net"] if digest[20] % 4 == 0 else []
    return ",".join(alias + hosts)


def _table(rows: list[tuple[str, str, str, str | None, int, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=QUESTION, orient="row")


def browsing(names: Sequence[str], suffix: str, nx_share: float) -> pl.DataFrame:
    """Questions of people browsing: Zipf-popular names as A/AAAA/HTTPS, search-suffix misses."""
    rows: list[tuple[str, str, str, str | None, int, float]] = []
    for rank, name in enumerate(names):
        weight = 1.0 / (rank + 1) ** 0.8
        ttl = (20, 60, 300, 300, 3600)[hashlib.sha256(name.encode()).digest()[0] % 5]
        rows += [
            (name, "A", "NOERROR", _answers(name, "A"), ttl, weight * 0.55),
            (name, "AAAA", "NOERROR", _answers(name, "AAAA"), ttl, weight * 0.3),
            (name, "HTTPS", "NOERROR", None, ttl, weight * 0.12),
            (f"{name}.{suffix}", "A", "NXDOMAIN", None, ttl, 0.0),
        ]
    table = _table(rows)
    total = float(table["weight"].sum())
    misses = table["rcode_name"] == "NXDOMAIN"
    share = nx_share * total / (1 - nx_share) / int(misses.sum())
    return table.with_columns(weight=pl.when(misses).then(share).otherwise(pl.col("weight")))


def _odds(table: pl.DataFrame) -> np.ndarray:
    weights = table["weight"].to_numpy()
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def resolver(store: Store) -> str:
    """The store devices' resolver: the store server, else the firewall."""
    for kind in (AssetKind.SERVER, AssetKind.FIREWALL):
        for asset in store.assets:
            if asset.kind == kind and asset.ip is not None:
                return asset.ip
    return "10.255.255.1"


def guest_resolver(store: Store) -> str:
    """Guests ask the firewall's interface on the guest segment (its first address)."""
    guest = store.segment("guest")
    return str(guest.network.network_address + 1) if guest else resolver(store)


def dga_names(rng: np.random.Generator, count: int, tld: str = "com") -> list[str]:
    """Algorithmically generated names (random 10-16 letters), as DGA malware looks them up."""
    letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
    lengths = rng.integers(10, 17, count)
    chars = letters[rng.integers(0, 26, (count, 16))].view("S16").ravel().astype(str)
    return [f"{text[:size]}.{tld}" for text, size in zip(chars, lengths, strict=True)]


@sources.register("zeek_dns")
class ZeekDnsSource(ZeekLog):
    name: ClassVar[str] = "zeek_dns"
    path: ClassVar[str] = "zeek/dns.log"
    log: ClassVar[str] = "dns"
    fields: ClassVar[str] = FIELDS
    types: ClassVar[str] = TYPES
    schema: ClassVar[dict[str, pl.DataType]] = {
        **CONNECTION,
        "trans_id": pl.Int64(),
        "rtt": pl.Float64(),
        "query": pl.String(),
        "qtype_name": pl.String(),
        "rcode_name": pl.String(),
        "aa": pl.Boolean(),
        "answers": pl.String(),
        "ttl": pl.Int64(),
    }
    """`answers` is comma-joined (null: none); `ttl` is the remaining TTL of every answer."""

    queries_per_guest: ClassVar[float] = 12.0
    """Look-ups in the burst as a phone joins the guest Wi-Fi."""
    guest_query_every: ClassVar[float] = 180.0
    """Seconds between a guest phone's look-ups after the burst, on average."""
    queries_per_workstation_hour: ClassVar[float] = 90.0

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("zeek_dns", store.uid)
        zone = f"{world.estate.organisation.uid}.internal"
        parts = [self._devices(world, store, rng, zone)]
        office = browsing(POPULAR[:12] + CORPORATE, zone, 0.04)
        for asset in world.assets(store, AssetKind.WORKSTATION):
            times = world.arrivals(store, self.queries_per_workstation_hour, rng)
            picks = rng.choice(office.height, len(times), p=_odds(office))
            parts.append(self._asked(office, picks, times, asset.ip or "", resolver(store)))
        parts.append(self._guests(world, store, rng))
        return self._finish(pl.concat(parts, how="vertical"), rng, store, zone)

    @classmethod
    def _finish(
        cls, frame: pl.DataFrame, rng: np.random.Generator, store: Store, zone: str
    ) -> pl.DataFrame:
        """Transport and timing of each question; the resolver's cache counts TTLs down."""
        n = frame.height
        authority = frame["query"].str.ends_with(zone).to_numpy()  # the store server's zone
        hit = authority | (rng.random(n) < 0.7)
        rtt = np.where(hit, rng.lognormal(np.log(0.0006), 0.4, n), rng.lognormal(-3.7, 0.6, n))
        left = np.where(authority, 1.0, rng.random(n))
        return (
            frame.with_columns(
                store=pl.lit(store.uid),
                uid=pl.Series(zeek_uids(rng, n)),
                orig_p=pl.Series(rng.integers(1024, 65536, n)),
                resp_p=pl.lit(53),
                proto=pl.lit("udp"),
                trans_id=pl.Series(rng.integers(0, 65536, n)),
                rtt=pl.Series(np.round(rtt, 6)),
                aa=pl.Series(authority),
                ttl=pl.when(pl.col("answers").is_not_null()).then(
                    (pl.col("ttl") * pl.Series(left)).ceil().cast(pl.Int64)
                ),
            )
            .select(list(cls.schema))
            .cast(pl.Schema(cls.schema))
        )

    def _devices(
        self, world: World, store: Store, rng: np.random.Generator, zone: str
    ) -> pl.DataFrame:
        span, server = world.span, resolver(store)
        rows: list[tuple[str, str, str, str | None, int, float]] = []
        times, owners, picks = [], [], []
        for lookup in DEVICES:
            name, answer = lookup.name, lookup.answer
            if name == "server":
                name, answer = next(
                    ((f"{a.uid}.{zone}", a.ip) for a in store.assets if a.ip == server),
                    (f"resolver.{zone}", server),
                )
            rows.append((name, "A", "NOERROR", answer, lookup.ttl, 1.0))
            for asset in world.assets(store, *lookup.kinds):
                grid = np.arange(span.start + rng.random() * lookup.period, span.end, lookup.period)
                times.append(grid + rng.normal(0, lookup.period * 0.01, len(grid)))
                owners.append(np.full(len(grid), asset.ip or ""))
                picks.append(np.full(len(grid), len(rows) - 1))
        return self._asked(
            _table(rows),
            np.concatenate(picks),
            np.concatenate(times),
            np.concatenate(owners),
            server,
        )

    def _guests(self, world: World, store: Store, rng: np.random.Generator) -> pl.DataFrame:
        """Visitors' phones (`guest_visits`): a burst of look-ups on joining, then browsing.

        Every question falls inside its phone's visit, so it comes from the address
        RADIUS accounts to that phone at that moment.
        """
        visits = guest_visits(world, store)
        seconds = visits.seconds
        burst = 1 + rng.poisson(self.queries_per_guest - 1, len(visits))
        counts = burst + rng.poisson(seconds / self.guest_query_every)
        visit = np.repeat(np.arange(len(visits)), counts)
        n = len(visit)
        rank = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
        room = seconds[visit] - 2 * EDGE
        offset = np.where(rank < burst[visit], rng.exponential(420.0, n), rng.random(n) * room)
        offset = np.where(offset <= room, offset, rng.random(n) * room)
        table = browsing(POPULAR, "lan", 0.05)
        picks = rng.choice(table.height, n, p=_odds(table))
        times = visits.starts[visit] + EDGE + offset
        return self._asked(table, picks, times, visits.ips[visit], guest_resolver(store))

    @staticmethod
    def _asked(
        table: pl.DataFrame,
        picks: np.ndarray,
        times: np.ndarray,
        clients: str | np.ndarray,
        server: str,
    ) -> pl.DataFrame:
        chosen = table.drop("weight")[picks]
        return chosen.with_columns(
            ts=pl.Series(times, dtype=pl.Float64),
            orig_h=pl.Series(np.broadcast_to(np.asarray(clients), (len(times),)).astype(str)),
            resp_h=pl.lit(server),
        )

    @classmethod
    def lookups(
        cls,
        rng: np.random.Generator,
        store: Store,
        times: Sequence[float] | np.ndarray,
        client: str,
        queries: str | Sequence[str],
        *,
        qtype: str = "A",
        rcode: str = "NOERROR",
        answers: Sequence[str] = (),
        ttl: int = 300,
    ) -> pl.DataFrame:
        """Injected rows: `client` asks its resolver for `queries` (one, or one per time).

        Beacon look-ups of a C2 name: `lookups(rng, store, times, cam.ip, "upd.example.top",
        answers=["203.0.113.9"], ttl=60)`; a DGA burst: `lookups(rng, store, times, ip,
        dga_names(rng, len(times)), rcode="NXDOMAIN")`.
        """
        n = len(times)
        guest = store.segment("guest")
        on_guest = guest is not None and ipaddress.ip_address(client) in guest.network
        question = pl.DataFrame(
            {
                "query": [queries] * n if isinstance(queries, str) else list(queries),
                "qtype_name": [qtype] * n,
                "rcode_name": [rcode] * n,
                "answers": [",".join(answers) or None] * n,
                "ttl": [ttl] * n,
                "weight": [1.0] * n,
            },
            schema=QUESTION,
        )
        asked = cls._asked(
            question,
            np.arange(n),
            np.asarray(times, dtype=np.float64),
            client,
            guest_resolver(store) if on_guest else resolver(store),
        )
        return cls._finish(asked, rng, store, "(no zone)")

    def render(self, frame: pl.DataFrame) -> pl.Series:
        def seconds(name: str) -> pl.Expr:
            return zeek_time(pl.col(name))

        def text(expr: pl.Expr) -> pl.Expr:
            return expr.cast(pl.String).fill_null("-")

        def code(name: str, codes: dict[str, int]) -> pl.Expr:
            return pl.col(name).replace_strict(codes, default=None, return_dtype=pl.Int64)

        count = pl.col("answers").str.count_matches(",") + 1
        ttls = (pl.col("ttl").cast(pl.String) + ".000000").repeat_by(count).list.join(",")
        return frame.select(
            pl.concat_str(
                [
                    seconds("ts"),
                    *(text(pl.col(c)) for c in ("uid", "orig_h", "orig_p", "resp_h", "resp_p")),
                    *(text(pl.col(c)) for c in ("proto", "trans_id")),
                    text(seconds("rtt")),
                    text(pl.col("query")),
                    pl.lit("1\tC_INTERNET"),
                    text(code("qtype_name", QTYPES)),
                    text(pl.col("qtype_name")),
                    text(code("rcode_name", RCODES)),
                    text(pl.col("rcode_name")),
                    pl.when(pl.col("aa")).then(pl.lit("T")).otherwise(pl.lit("F")),
                    pl.lit("F\tT\tT\t0"),
                    text(pl.col("answers")),
                    text(pl.when(pl.col("answers").is_not_null()).then(ttls)),
                    pl.lit("F"),
                ],
                separator="\t",
            ).alias("line")
        )["line"]
