"""Zeek `conn.log` (TSV) for every store: device-class traffic profiles and guest Wi-Fi.

Each asset kind has its profile: who it talks to, on which port, how often (with
jitter), and how many bytes. Generation is vectorised per (store, profile). Guest
flows come from the visits of `vigil.sim.guests`, the phones RADIUS accounts.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.guests import guest_visits
from vigil.sim.types import Source, sources
from vigil.sim.world import World

ALPHABET = np.frombuffer(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8
)
GUEST_FLOW_EVERY = 300.0
"""Seconds between a guest phone's flows, on average (every visit makes at least one)."""
GUEST_SPEED = 1_500_000.0
"""Median bytes a second a guest flow downloads at."""
GUEST_EDGE = 0.001
"""Guest flows keep this far inside their visit, so they stay in it at microsecond precision."""
FIELDS = (
    "ts",
    "uid",
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "proto",
    "service",
    "duration",
    "orig_bytes",
    "resp_bytes",
    "conn_state",
    "orig_pkts",
    "resp_pkts",
)
TYPES = (
    "time",
    "string",
    "addr",
    "port",
    "addr",
    "port",
    "enum",
    "string",
    "interval",
    "count",
    "count",
    "string",
    "count",
    "count",
)


@dataclass(frozen=True)
class Profile:
    """How one kind of device talks: `period` seconds between flows, or `per_hour` while trading."""

    kinds: tuple[AssetKind, ...]
    dst: str  # an address, or "server"/"nvr" for the store's own
    port: int
    proto: str
    service: str
    bytes_out: float
    bytes_in: float
    duration: float
    period: float | None = None
    per_hour: float | None = None


PROFILES = (
    Profile(
        (AssetKind.POS_TERMINAL, AssetKind.SELF_CHECKOUT),
        "server",
        8443,
        "tcp",
        "ssl",
        900,
        2400,
        0.4,
        period=60,
    ),
    Profile(
        (AssetKind.POS_TERMINAL, AssetKind.SELF_CHECKOUT),
        "server",
        53,
        "udp",
        "dns",
        70,
        120,
        0.01,
        period=300,
    ),
    Profile(
        (AssetKind.PAYMENT_TERMINAL,),
        "198.51.100.20",
        443,
        "tcp",
        "ssl",
        2100,
        3900,
        0.8,
        per_hour=14,
    ),
    Profile((AssetKind.CAMERA,), "nvr", 554, "tcp", "rtsp", 900_000_000, 80_000, 3600, period=3600),
    Profile(
        (AssetKind.CAMERA, AssetKind.NVR, AssetKind.SWITCH),
        "192.0.2.123",
        123,
        "udp",
        "ntp",
        48,
        48,
        0.02,
        period=1024,
    ),
    Profile(
        (AssetKind.NVR,), "52.20.14.7", 443, "tcp", "ssl", 40_000_000, 30_000, 120, period=3600
    ),
    Profile(
        (AssetKind.SMART_SHELF, AssetKind.IOT_GATEWAY),
        "34.120.10.5",
        8883,
        "tcp",
        "ssl",
        1800,
        600,
        1.5,
        period=300,
    ),
    Profile((AssetKind.HVAC,), "20.50.1.9", 443, "tcp", "ssl", 3000, 1200, 1.0, period=300),
    Profile(
        (AssetKind.DOOR_CONTROLLER, AssetKind.ALARM_PANEL),
        "35.190.2.44",
        443,
        "tcp",
        "ssl",
        1500,
        900,
        0.6,
        period=600,
    ),
    Profile(
        (AssetKind.ACCESS_POINT,), "172.16.0.10", 4343, "tcp", "ssl", 1200, 1500, 0.3, period=30
    ),
    Profile(
        (AssetKind.SERVER,), "172.16.0.20", 443, "tcp", "ssl", 250_000, 90_000, 4.0, period=300
    ),
    Profile(
        (AssetKind.FIREWALL, AssetKind.SWITCH, AssetKind.ROUTER),
        "172.16.0.30",
        514,
        "udp",
        "syslog",
        2500,
        0,
        0.0,
        period=60,
    ),
    Profile(
        (AssetKind.WORKSTATION,), "internet", 443, "tcp", "ssl", 12_000, 180_000, 3.0, per_hour=30
    ),
)


def zeek_uids(rng: np.random.Generator, count: int) -> np.ndarray:
    """Zeek-style connection uids ('C' + 17 base62 characters)."""
    chars = ALPHABET[rng.integers(0, len(ALPHABET), (count, 17))]
    prefixed = np.concatenate([np.full((count, 1), ord("C"), dtype=np.uint8), chars], axis=1)
    return prefixed.view("S18").ravel().astype(str)


def internet_hosts(rng: np.random.Generator, count: int) -> np.ndarray:
    """Public-looking destinations drawn from a few large providers' ranges."""
    bases = np.array(
        [
            int(ipaddress.IPv4Address(a))
            for a in ("151.101.0.0", "142.250.0.0", "104.16.0.0", "13.32.0.0", "23.192.0.0")
        ]
    )
    numbers = bases[rng.integers(0, len(bases), count)] + rng.integers(1, 65_000, count)
    return np.array([str(ipaddress.IPv4Address(int(n))) for n in numbers])


def zeek_time(expr: pl.Expr) -> pl.Expr:
    """Epoch seconds as Zeek writes `time` and `interval` values: six decimals."""
    micros = (expr * 1_000_000).round().cast(pl.Int64)
    whole = (micros // 1_000_000).cast(pl.String)
    return pl.concat_str([whole, pl.lit("."), (micros % 1_000_000).cast(pl.String).str.zfill(6)])


CONNECTION: dict[str, pl.DataType] = {
    "ts": pl.Float64(),
    "store": pl.String(),
    "uid": pl.String(),
    "orig_h": pl.String(),
    "orig_p": pl.Int64(),
    "resp_h": pl.String(),
    "resp_p": pl.Int64(),
    "proto": pl.String(),
}
"""The columns every Zeek log about a connection starts with (`ts`, `uid`, `id`, `proto`)."""


class ZeekLog(Source):
    """A Zeek TSV log: the `#fields`/`#types` header Zeek opens with and its `#close`."""

    log: ClassVar[str]
    """Zeek's `#path`, e.g. conn."""
    fields: ClassVar[str]
    types: ClassVar[str]
    """Tab-separated names and Zeek types of the columns."""

    def header(self, world: World) -> str:
        opened = datetime.fromtimestamp(world.span.start, UTC).strftime("%Y-%m-%d-%H-%M-%S")
        lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)"]
        lines += ["#unset_field\t-", f"#path\t{self.log}", f"#open\t{opened}"]
        lines += [f"#fields\t{self.fields}", f"#types\t{self.types}"]
        return "\n".join(lines) + "\n"

    def footer(self, world: World) -> str:
        closed = datetime.fromtimestamp(world.span.end, UTC).strftime("%Y-%m-%d-%H-%M-%S")
        return f"#close\t{closed}\n"


@sources.register("zeek_conn")
class ZeekConnSource(ZeekLog):
    name: ClassVar[str] = "zeek_conn"
    path: ClassVar[str] = "zeek/conn.log"
    log: ClassVar[str] = "conn"
    fields: ClassVar[str] = "\t".join(FIELDS)
    types: ClassVar[str] = "\t".join(TYPES)
    schema: ClassVar[dict[str, pl.DataType]] = {
        **CONNECTION,
        "service": pl.String(),
        "duration": pl.Float64(),
        "orig_bytes": pl.Int64(),
        "resp_bytes": pl.Int64(),
        "conn_state": pl.String(),
        "orig_pkts": pl.Int64(),
        "resp_pkts": pl.Int64(),
    }

    @classmethod
    def connections(
        cls,
        rng: np.random.Generator,
        store: str,
        times: np.ndarray,
        orig_h: str | np.ndarray,
        resp_h: str | np.ndarray,
        resp_p: int | np.ndarray,
        *,
        proto: str = "tcp",
        service: str | None = None,
        state: str | np.ndarray = "SF",
        orig_bytes: int | np.ndarray = 0,
        resp_bytes: int | np.ndarray = 0,
        duration: float | np.ndarray = 0.0,
    ) -> pl.DataFrame:
        """Injected rows: one connection per time, scalars broadcast over all of them."""
        n = len(times)

        def each(value: object, dtype: type) -> list[object]:
            return list(np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).tolist())

        out_bytes = np.broadcast_to(np.asarray(orig_bytes, dtype=np.int64), (n,))
        in_bytes = np.broadcast_to(np.asarray(resp_bytes, dtype=np.int64), (n,))
        return cls.frame(
            {
                "ts": np.asarray(times, dtype=np.float64).tolist(),
                "store": [store] * n,
                "uid": zeek_uids(rng, n).tolist(),
                "orig_h": each(orig_h, str),
                "orig_p": rng.integers(32768, 61000, n).tolist(),
                "resp_h": each(resp_h, str),
                "resp_p": each(resp_p, np.int64),
                "proto": [proto] * n,
                "service": [service] * n,
                "duration": np.round(
                    np.broadcast_to(np.asarray(duration, np.float64), (n,)), 6
                ).tolist(),
                "orig_bytes": out_bytes.tolist(),
                "resp_bytes": in_bytes.tolist(),
                "conn_state": each(state, str),
                "orig_pkts": (out_bytes // 1200 + 1).tolist(),
                "resp_pkts": np.where(in_bytes > 0, in_bytes // 1200 + 1, 0).tolist(),
            }
        )

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("zeek_conn", store.uid)
        span = world.span
        server = next((a.ip for a in store.assets if a.kind == AssetKind.SERVER), None)
        nvr = next((a.ip for a in store.assets if a.kind == AssetKind.NVR), None)
        parts: list[dict[str, np.ndarray]] = []
        for profile in PROFILES:
            for asset in world.assets(store, *profile.kinds):
                if asset.ip is None:
                    continue
                if profile.period is not None:
                    phase = rng.random() * profile.period
                    times = np.arange(span.start + phase, span.end, profile.period)
                    times = times + rng.normal(0, profile.period * 0.02, len(times))
                else:
                    times = world.arrivals(store, profile.per_hour or 1.0, rng)
                times = times[(times >= span.start) & (times < span.end)]
                n = len(times)
                if n == 0:
                    continue
                if profile.dst == "internet":
                    dst = internet_hosts(rng, n)
                else:
                    target = {"server": server, "nvr": nvr}.get(profile.dst, profile.dst)
                    if target is None:
                        continue
                    dst = np.full(n, target)
                parts.append(self._flows(rng, times, asset.ip, dst, profile))
        parts.append(self._guest_wifi(world, store, rng))
        columns = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        frame = pl.DataFrame(columns).with_columns(
            store=pl.lit(store.uid), uid=pl.Series(zeek_uids(rng, len(columns["ts"])))
        )
        return frame.select(list(self.schema)).cast(pl.Schema(self.schema))

    @staticmethod
    def _flows(
        rng: np.random.Generator,
        times: np.ndarray,
        src: str | np.ndarray,
        dst: np.ndarray,
        p: Profile,
    ) -> dict[str, np.ndarray]:
        n = len(times)
        out_bytes = (
            np.maximum(rng.lognormal(np.log(p.bytes_out), 0.3, n), 0).astype(np.int64)
            if p.bytes_out
            else np.zeros(n, np.int64)
        )
        in_bytes = (
            np.maximum(rng.lognormal(np.log(p.bytes_in), 0.3, n), 0).astype(np.int64)
            if p.bytes_in
            else np.zeros(n, np.int64)
        )
        return {
            "ts": times,
            "orig_h": np.broadcast_to(np.asarray(src), (n,)).astype(str),
            "orig_p": np.full(n, 123) if p.service == "ntp" else rng.integers(32768, 61000, n),
            "resp_h": dst.astype(str),
            "resp_p": np.full(n, p.port),
            "proto": np.full(n, p.proto),
            "service": np.full(n, p.service),
            "duration": np.round(rng.exponential(p.duration, n), 6) if p.duration else np.zeros(n),
            "orig_bytes": out_bytes,
            "resp_bytes": in_bytes,
            "conn_state": np.full(n, "SF"),
            "orig_pkts": out_bytes // 1200 + 1,
            "resp_pkts": in_bytes // 1200 + 1,
        }

    def _guest_wifi(
        self, world: World, store: Store, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """Guest phones' HTTPS flows, each inside its visit and from the visit's address.

        A visit's bytes (`GuestVisit.sent`/`received`, which RADIUS accounts too) are
        split over its flows; a flow lasts its download at phone speed, within the visit.
        """
        visits = guest_visits(world, store)
        counts = 1 + rng.poisson(visits.seconds / GUEST_FLOW_EVERY)
        visit = np.repeat(np.arange(len(visits)), counts)
        n = len(visit)
        room = visits.seconds[visit] - 2 * GUEST_EDGE
        times = visits.starts[visit] + GUEST_EDGE + rng.random(n) * room
        weight = rng.lognormal(0.0, 1.0, n)
        share = weight / np.bincount(visit, weight, minlength=len(visits))[visit]
        received = np.floor(visits.received[visit] * share).astype(np.int64)
        sent = np.floor(visits.sent[visit] * share).astype(np.int64)
        speed = rng.lognormal(np.log(GUEST_SPEED), 0.5, n)
        left = visits.ends[visit] - GUEST_EDGE - times
        return {
            "ts": times,
            "orig_h": visits.ips[visit],
            "orig_p": rng.integers(32768, 61000, n),
            "resp_h": internet_hosts(rng, n).astype(str),
            "resp_p": np.full(n, 443),
            "proto": np.full(n, "tcp"),
            "service": np.full(n, "ssl"),
            "duration": np.round(np.minimum(received / speed + rng.exponential(2.0, n), left), 6),
            "orig_bytes": sent,
            "resp_bytes": received,
            "conn_state": np.full(n, "SF"),
            "orig_pkts": sent // 1200 + 1,
            "resp_pkts": received // 1200 + 1,
        }

    def render(self, frame: pl.DataFrame) -> pl.Series:
        def seconds(name: str) -> pl.Expr:
            return zeek_time(pl.col(name).fill_null(0))

        def text(name: str) -> pl.Expr:
            return pl.col(name).cast(pl.String).fill_null("-")

        return frame.select(
            pl.concat_str(
                [
                    seconds("ts"),
                    text("uid"),
                    text("orig_h"),
                    text("orig_p"),
                    text("resp_h"),
                    text("resp_p"),
                    text("proto"),
                    text("service"),
                    seconds("duration"),
                    text("orig_bytes"),
                    text("resp_bytes"),
                    text("conn_state"),
                    text("orig_pkts"),
                    text("resp_pkts"),
                ],
                separator="\t",
            ).alias("line")
        )["line"]


def is_private(column: str) -> pl.Expr:
    """True where the address column is RFC 1918 (the estate's own networks)."""
    return pl.col(column).str.contains(r"^(10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)")


def wan_address(world: World, store: Store) -> str:
    """The store's public address (its firewall's WAN side), stable for the estate."""
    index = [s.uid for s in world.estate.stores].index(store.uid)
    return str(ipaddress.IPv4Address("198.18.0.0") + 256 + index)
