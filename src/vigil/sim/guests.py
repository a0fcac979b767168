"""Customers' phones on a store's guest Wi-Fi: one shared model for every source that sees them.

RADIUS accounting, Zeek's conn.log and dns.log all draw their guest rows from the
same visits, so a detector can tie a flow to the device (MAC) that made it: a
visit is one phone's stay on the guest SSID, from association to disconnection,
with the address the guest segment's DHCP leased it and how much it moved.

Phones join as customers arrive (`World.arrivals`), stay a lognormal while
(quarter of an hour or so, the captive portal cuts them off after four hours)
and leave at the latest a few minutes after the store closes. DHCP hands out
.20 to .249, least recently used first; an address goes back to the pool when
its lease expires (leases last `LEASE` and are renewed at half-time while the
phone stays), so two overlapping visits never share one. A phone that finds the
pool empty gets no address and stays on mobile data: no visit. Everything is
drawn from `world.rng("guests", store.uid)`: one store's guests do not depend
on the others.
"""

from __future__ import annotations

import heapq
import ipaddress
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from vigil.estate import Store
from vigil.sim.world import World

PER_HOUR = 30.0
"""Phones joining the guest Wi-Fi in an average trading hour."""
STAY = 15 * 60.0
"""Median seconds a phone stays associated."""
TIMEOUT = 4 * 3600.0
"""The captive portal ends a guest session after this long."""
CLOSING = 10 * 60.0
"""Phones are gone at most this long after the store closes."""
LEASE = 30 * 60.0
"""DHCP lease time on the guest segment; renewed at half-time while the phone stays."""
DHCP_FIRST, DHCP_LAST = 20, 249
"""The guest segment's DHCP range (host numbers in its /24)."""
DOWNLOAD = 6_000.0
"""Median bytes a second a guest phone downloads over its stay (payload, as Zeek counts)."""
UPLOAD = 0.08
"""Median ratio of bytes sent to bytes received."""
FALLBACK = ipaddress.IPv4Network("10.255.0.0/24")
HEX = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)


@dataclass(frozen=True)
class GuestVisit:
    """One phone's stay on the guest Wi-Fi; `sent`/`received` are payload bytes of its flows."""

    mac: str
    ip: str
    start: float
    end: float
    sent: float
    received: float


@dataclass(frozen=True, eq=False)
class GuestVisits:
    """A store's visits as columns, in start order; iterating gives `GuestVisit`s.

    `ends - starts` is a whole number of seconds (at least one), as RADIUS accounts it.
    """

    macs: np.ndarray
    ips: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    sent: np.ndarray
    received: np.ndarray
    leased_until: np.ndarray
    """When each visit's DHCP lease runs out (its address is free again)."""

    @property
    def seconds(self) -> np.ndarray:
        return np.asarray(self.ends - self.starts, dtype=np.float64)

    def __len__(self) -> int:
        return len(self.starts)

    def __iter__(self) -> Iterator[GuestVisit]:
        columns = (self.macs, self.ips, self.starts, self.ends, self.sent, self.received)
        for mac, ip, start, end, sent, received in zip(*(c.tolist() for c in columns), strict=True):
            yield GuestVisit(mac, ip, start, end, sent, received)


def client_macs(rng: np.random.Generator, count: int) -> np.ndarray:
    """Randomised (locally administered) client MACs as APs send them: `DA-1F-...` upper case."""
    octets = rng.integers(0, 256, (count, 6), dtype=np.uint8)
    octets[:, 0] = (octets[:, 0] & 0xFC) | 0x02
    text = np.full((count, 17), ord("-"), dtype=np.uint8)
    text[:, 0::3], text[:, 1::3] = HEX[octets >> 4], HEX[octets & 0x0F]
    return text.view("S17").ravel().astype(str)


def guest_network(store: Store) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The store's guest segment (a stand-in /24 for a store without one)."""
    guest = store.segment("guest")
    return guest.network if guest else FALLBACK


def dhcp_range(store: Store) -> np.ndarray:
    """Every address the guest DHCP can hand out, in range order."""
    network = guest_network(store)
    base = int(network.network_address)
    hosts = range(base + DHCP_FIRST, base + DHCP_LAST + 1)
    if network.version == 6:
        return np.array([str(ipaddress.IPv6Address(n)) for n in hosts])
    return np.array([f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}" for n in hosts])


def guest_visits(world: World, store: Store) -> GuestVisits:
    """Every guest phone's stay at `store` in the simulated time, in start order."""
    rng = world.rng("guests", store.uid)
    starts = world.arrivals(store, PER_HOUR, rng)
    n = len(starts)
    stay = np.minimum(rng.lognormal(np.log(STAY), 0.8, n), TIMEOUT)
    spans = world.trading(store)  # arrivals fall inside these: find the closing of each
    opened = np.searchsorted([span.start for span in spans], starts, side="right") - 1
    leave = np.array([span.end for span in spans])[opened] + rng.random(n) * CLOSING
    seconds = np.maximum(np.floor(np.minimum(stay, leave - starts)), 1.0)
    received = seconds * rng.lognormal(np.log(DOWNLOAD), 1.0, n)
    sent = received * rng.lognormal(np.log(UPLOAD), 0.5, n)
    macs = client_macs(rng, n)
    addresses = dhcp_range(store)
    expiries = starts + _expiry(seconds)
    hosts = _lease(starts, expiries, rng.permutation(len(addresses)))
    kept = hosts >= 0
    return GuestVisits(
        macs=macs[kept],
        ips=addresses[hosts[kept]],
        starts=starts[kept],
        ends=(starts + seconds)[kept],
        sent=sent[kept],
        received=received[kept],
        leased_until=expiries[kept],
    )


def vacant_ips(world: World, store: Store, start: float, end: float) -> np.ndarray:
    """Guest addresses no visit holds a lease on between `start` and `end`, in range order.

    For a scenario's own guest device, so that it does not share an address with a
    benign phone: `ip = rng.choice(vacant_ips(world, store, t0, t1))`.
    """
    visits = guest_visits(world, store)
    busy = visits.ips[(visits.starts < end) & (visits.leased_until > start)]
    pool = dhcp_range(store)
    return pool[~np.isin(pool, busy)]


def _expiry(seconds: np.ndarray) -> np.ndarray:
    """Seconds from joining until the lease runs out: last renewal plus one lease."""
    half = LEASE / 2
    return np.asarray(np.floor(seconds / half) * half + LEASE, dtype=np.float64)


def _lease(starts: np.ndarray, expiries: np.ndarray, pool: np.ndarray) -> np.ndarray:
    """The address (an index, `pool` the order of first use) each visit leases, -1 if none is free.

    Released addresses queue up behind the unused ones: least recently used first.
    """
    free = deque(pool.tolist())
    held: list[tuple[float, int]] = []
    leased = np.full(len(starts), -1, dtype=np.int64)
    for visit, (start, expiry) in enumerate(zip(starts.tolist(), expiries.tolist(), strict=True)):
        while held and held[0][0] <= start:
            free.append(heapq.heappop(held)[1])
        if free:
            host = free.popleft()
            leased[visit] = host
            heapq.heappush(held, (expiry, host))
    return leased
