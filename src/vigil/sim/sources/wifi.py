"""RADIUS accounting of every store's Wi-Fi, as a FreeRADIUS `detail` file.

The access points are the NAS: each client session gives a Start, an
Interim-Update every ten minutes and a Stop. Staff phones join the staff SSID
with 802.1X as their owner, following the roster: shortly after the shift
starts (badge-in), off while they step out on their break, gone at the end of
the shift. Guests are the visits of `vigil.sim.guests` (the same phones and
addresses conn.log and dns.log see): they pass the captive portal by MAC
(User-Name is the client MAC) and mostly download. The server writes times in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Literal

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.guests import TIMEOUT, client_macs, dhcp_range, guest_visits
from vigil.sim.shifts import Shift, roster
from vigil.sim.types import SimError, Source, sources
from vigil.sim.world import World

__all__ = [  # client_macs lives with the guest model; scenarios import it from here
    "GIGAWORD",
    "GUEST_TIMEOUT",
    "INTERIM",
    "SSIDS",
    "RadiusSource",
    "client_macs",
    "guest_ips",
    "on_air",
]

SSIDS = {"staff": "Northwind-Staff", "guest": "Northwind-Guest"}
INTERIM = 600.0
"""Seconds between Interim-Update records (the APs' accounting interval)."""
GUEST_TIMEOUT = TIMEOUT
"""The captive portal ends a guest session after this long."""
HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
GIGAWORD = 2**32
PACKET, HEADERS = 1200, 40
"""Payload and IP/TCP header bytes of a packet: the AP counts headers, Zeek's byte counts do not."""
BADGE_IN = (30.0, 240.0)
"""Seconds from the start of a shift until the phone joins (walking in from the door)."""
STEP_OUT = 0.4
"""Chance that a member of staff leaves the building (and the Wi-Fi) on their break."""
Sessions = dict[str, np.ndarray]
"""Per-session arrays: starts, seconds, users, macs, ips, ssids, octets in and out, causes."""


def _hex_ids(rng: np.random.Generator, count: int, width: int) -> np.ndarray:
    chars = HEX[rng.integers(0, 16, (count, width))]
    return chars.view(f"S{width}").ravel().astype(str)


def guest_ips(store: Store, rng: np.random.Generator, count: int) -> np.ndarray:
    """Addresses the guest segment's DHCP hands out (.20 to .249), drawn at random."""
    pool = dhcp_range(store)
    return pool[rng.integers(0, len(pool), count)]


def on_air(sent: np.ndarray, received: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Octets the AP accounts (in, out) for flows of `sent`/`received` payload bytes.

    Each packet carries its headers, and the far side acknowledges every second one.
    """
    overhead = HEADERS / PACKET
    return (
        sent * (1 + overhead) + received * overhead / 2,
        received * (1 + overhead) + sent * overhead / 2,
    )


@sources.register("radius")
class RadiusSource(Source):
    name: ClassVar[str] = "radius"
    path: ClassVar[str] = "wifi/radius-detail.log"
    schema: ClassVar[dict[str, pl.DataType]] = {
        "ts": pl.Float64(),
        "store": pl.String(),
        "status": pl.String(),
        "session_id": pl.String(),
        "unique_id": pl.String(),
        "user": pl.String(),
        "nas_ip": pl.String(),
        "nas_id": pl.String(),
        "called": pl.String(),
        "calling": pl.String(),
        "framed_ip": pl.String(),
        "input_octets": pl.Int64(),
        "output_octets": pl.Int64(),
        "session_time": pl.Int64(),
        "cause": pl.String(),
    }
    """One row per record; octets and session time are null on Start, cause only on Stop."""

    roaming: ClassVar[float] = 1.0
    """Re-associations of a staff phone (as it roams between APs) per stretch on site."""

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("radius", store.uid)
        staff, guests = self._staff(world, store, rng), self._guests(world, store, rng)
        both = {key: np.concatenate([staff[key], guests[key]]) for key in staff}
        return self._records(rng, store, both)

    @staticmethod
    def _guests(world: World, store: Store, rng: np.random.Generator) -> Sessions:
        """The store's guest visits: one session each, octets of their flows plus headers."""
        visits = guest_visits(world, store)
        n = len(visits)
        seconds = visits.seconds
        cause = rng.choice(["Lost-Carrier", "Idle-Timeout", "User-Request"], n, p=[0.5, 0.3, 0.2])
        octets_in, octets_out = on_air(visits.sent, visits.received)
        return {
            "starts": visits.starts,
            "seconds": seconds,
            "users": visits.macs,
            "macs": visits.macs,
            "ips": visits.ips,
            "ssids": np.full(n, SSIDS["guest"]),
            "input_octets": octets_in,
            "output_octets": octets_out,
            "causes": np.where(seconds >= GUEST_TIMEOUT, "Session-Timeout", cause),
        }

    def _staff(self, world: World, store: Store, rng: np.random.Generator) -> Sessions:
        """Each rostered shift, the worker's phone is on while they are, re-joining as it roams."""
        shifts = roster(world, store)
        segment = store.segment("staff")
        prefix = str(segment.network.network_address).rsplit(".", 1)[0] if segment else "10.255.1"
        address = {p.uid: f"{prefix}.{20 + i}" for i, p in enumerate(world.staff(store))}
        phones = {s.person.uid for s in shifts}
        mac = {uid: str(client_macs(world.rng("phone", uid), 1)[0]) for uid in sorted(phones)}
        starts: list[float] = []
        ends: list[float] = []
        owners: list[str] = []
        for shift in shifts:
            for begin, end in _on_site(rng, shift):
                cuts = np.sort(rng.uniform(begin, end, rng.poisson(self.roaming)))
                edges = np.concatenate([[begin], cuts, [end]])
                gaps = np.minimum(rng.exponential(90, len(edges) - 1), np.diff(edges) / 2)
                starts += (edges[:-1] + np.r_[0, gaps[1:]]).tolist()
                ends += edges[1:].tolist()
                owners += [shift.person.uid] * (len(edges) - 1)
        n = len(owners)
        users = {s.person.uid: s.person.username for s in shifts}
        seconds = np.asarray(ends) - np.asarray(starts)
        output = seconds * rng.lognormal(np.log(4_000), 0.9, n)
        causes = ["User-Request", "Lost-Carrier", "Idle-Timeout"]
        return {
            "starts": np.asarray(starts, dtype=np.float64),
            "seconds": seconds,
            "users": np.array([users[uid] for uid in owners], dtype=str),
            "macs": np.array([mac[uid] for uid in owners], dtype=str),
            "ips": np.array([address[uid] for uid in owners], dtype=str),
            "ssids": np.full(n, SSIDS["staff"]),
            "input_octets": output * rng.lognormal(np.log(0.3), 0.4, n),
            "output_octets": output,
            "causes": rng.choice(causes, n, p=[0.4, 0.4, 0.2]),
        }

    @classmethod
    def sessions(
        cls,
        rng: np.random.Generator,
        store: Store,
        starts: Sequence[float] | np.ndarray,
        seconds: Sequence[float] | np.ndarray,
        *,
        ssid: Literal["staff", "guest"] = "guest",
        macs: Sequence[str] | np.ndarray | None = None,
        ips: Sequence[str] | np.ndarray | None = None,
        users: Sequence[str] | np.ndarray | None = None,
        input_octets: Sequence[float] | np.ndarray,
        output_octets: Sequence[float] | np.ndarray,
        cause: str | Sequence[str] | np.ndarray = "User-Request",
    ) -> pl.DataFrame:
        """Injected rows: every record of whole sessions (Start, Interim-Updates, Stop).

        Unset MACs are drawn, unset addresses come from the guest DHCP range, and
        unset User-Names are the MACs (guests). A bandwidth hog: `sessions(rng, store,
        [t], [3 * 3600], input_octets=[2e9], output_octets=[90e9])`; octets past 2**32
        go into the Gigawords.
        """
        n = len(starts)
        mac = client_macs(rng, n) if macs is None else np.asarray(macs, dtype=str)
        shape = (n,)
        return cls._records(
            rng,
            store,
            {
                "starts": np.asarray(starts, dtype=np.float64),
                "seconds": np.asarray(seconds, dtype=np.float64),
                "users": mac if users is None else np.asarray(users, dtype=str),
                "macs": mac,
                "ips": guest_ips(store, rng, n) if ips is None else np.asarray(ips, dtype=str),
                "ssids": np.full(n, SSIDS[ssid]),
                "input_octets": np.broadcast_to(np.asarray(input_octets, np.float64), shape),
                "output_octets": np.broadcast_to(np.asarray(output_octets, np.float64), shape),
                "causes": np.broadcast_to(np.asarray(cause, dtype=str), shape),
            },
        )

    @classmethod
    def _records(cls, rng: np.random.Generator, store: Store, given: Sessions) -> pl.DataFrame:
        """Sessions to records: Start, an Interim-Update each `INTERIM` seconds, Stop."""
        n = len(given["starts"])
        aps = [a for a in store.assets if a.kind == AssetKind.ACCESS_POINT and a.ip and a.mac]
        if not aps:
            raise SimError(f"store {store.uid} has no access point to account Wi-Fi sessions")
        ap = pl.Series(rng.integers(0, len(aps), n))
        bssid = pl.Series([(a.mac or "").upper().replace(":", "-") for a in aps]).gather(ap)
        sessions = pl.DataFrame(
            {
                "session_id": _hex_ids(rng, n, 16),
                "unique_id": np.char.lower(_hex_ids(rng, n, 32)),
                "user": given["users"],
                "nas_ip": pl.Series([a.ip for a in aps]).gather(ap),
                "nas_id": pl.Series([a.uid for a in aps]).gather(ap),
                "bssid": bssid,
                "ssid": given["ssids"],
                "calling": given["macs"],
                "framed_ip": given["ips"],
                "cause": given["causes"],
            }
        )
        span = np.maximum(np.round(given["seconds"]), 1.0)
        per = np.floor((span - 1) / INTERIM).astype(np.int64) + 2
        row = np.repeat(np.arange(n), per)
        step = np.arange(len(row)) - np.repeat(np.cumsum(per) - per, per)
        last, started = step == per[row] - 1, step == 0
        elapsed = np.where(last, span[row], step * INTERIM)
        share = np.where(started, np.nan, elapsed / span[row])
        records = pl.DataFrame(
            {
                "ts": given["starts"][row] + elapsed,
                "input_octets": np.round(given["input_octets"][row] * share),
                "output_octets": np.round(given["output_octets"][row] * share),
                "session_time": np.where(started, np.nan, elapsed),
                "started": started,
                "last": last,
            },
            nan_to_null=True,
        )
        return (
            pl.concat([sessions[row], records], how="horizontal")
            .with_columns(
                store=pl.lit(store.uid),
                status=pl.when("started")
                .then(pl.lit("Start"))
                .when("last")
                .then(pl.lit("Stop"))
                .otherwise(pl.lit("Interim-Update")),
                cause=pl.when("last").then("cause"),
                called=pl.concat_str(["bssid", pl.lit(":"), "ssid"]),
            )
            .select(list(cls.schema))
            .cast(pl.Schema(cls.schema))
        )

    def render(self, frame: pl.DataFrame) -> pl.Series:
        def attribute(name: str, value: pl.Expr, quoted: bool = False) -> pl.Expr:
            quote = pl.lit('"' if quoted else "")
            return pl.concat_str([pl.lit(f"\t{name} = "), quote, value.cast(pl.String), quote])

        moment = pl.from_epoch(pl.col("ts").floor().cast(pl.Int64), time_unit="s")
        return frame.select(
            pl.concat_str(
                [
                    moment.dt.strftime("%a %b %e %H:%M:%S %Y"),
                    attribute("Acct-Status-Type", pl.col("status")),
                    attribute("Acct-Session-Id", pl.col("session_id"), quoted=True),
                    attribute("User-Name", pl.col("user"), quoted=True),
                    attribute("NAS-IP-Address", pl.col("nas_ip")),
                    attribute("NAS-Identifier", pl.col("nas_id"), quoted=True),
                    pl.lit("\tNAS-Port-Type = Wireless-802.11\n\tService-Type = Framed-User"),
                    attribute("Called-Station-Id", pl.col("called"), quoted=True),
                    attribute("Calling-Station-Id", pl.col("calling"), quoted=True),
                    attribute("Framed-IP-Address", pl.col("framed_ip")),
                    attribute("Acct-Input-Octets", pl.col("input_octets") % GIGAWORD),
                    attribute("Acct-Output-Octets", pl.col("output_octets") % GIGAWORD),
                    attribute("Acct-Input-Gigawords", pl.col("input_octets") // GIGAWORD),
                    attribute("Acct-Output-Gigawords", pl.col("output_octets") // GIGAWORD),
                    attribute("Acct-Session-Time", pl.col("session_time")),
                    attribute("Acct-Terminate-Cause", pl.col("cause")),
                    pl.lit("\tAcct-Delay-Time = 0"),
                    attribute(
                        "Event-Timestamp", moment.dt.strftime("%b %e %Y %H:%M:%S UTC"), quoted=True
                    ),
                    attribute("Acct-Unique-Session-Id", pl.col("unique_id"), quoted=True),
                    attribute("Timestamp", pl.col("ts").floor().cast(pl.Int64)),
                    pl.lit(""),  # each record ends with a newline: records part by one blank line
                ],
                separator="\n",
                ignore_nulls=True,
            ).alias("record")
        )["record"]


def _on_site(rng: np.random.Generator, shift: Shift) -> list[tuple[float, float]]:
    """When a worker's phone is in the building: badge-in to a minute or two after the shift.

    Some step out on their break: the phone drops off a minute or two into it and is
    back a minute or two before it ends.
    """
    begin = shift.start + rng.uniform(*BADGE_IN)
    end = shift.end + rng.uniform(0, 120)
    if shift.rest is None or rng.random() >= STEP_OUT:
        return [(begin, end)]
    out, back = shift.rest.start + rng.uniform(60, 180), shift.rest.end - rng.uniform(60, 180)
    return [(begin, out), (back, end)]
