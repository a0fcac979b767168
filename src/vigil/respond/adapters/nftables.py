"""The store gateway's firewall: nftables sets with timeouts in a table of Vigil's own.

Everything lives in one table (`inet vigil` by default), so Vigil never touches
the operator's rules and `nft delete table inet vigil` removes all of it:

    set block4 / block6        single addresses          (flags timeout)
    set range4 / range6        CIDR ranges               (flags interval, timeout)
    set geo4 / geo6            a country's ranges        (flags interval, timeout)
    set quarantine4 / 6        quarantined devices       (flags timeout)
    set qallow4 / 6            device . management pairs (flags timeout)
    set rate4_<pps>_<burst>    rate-limited sources, one set per rate, each with a
                               dynamic meter set and one rule in chain `ratelimit`
    chains input, forward, output (filter hooks, priority -10, policy accept)

Blocked addresses are dropped both ways (as source in input and forward, as
destination in forward and output). A quarantined device is dropped both ways
except to and from its management addresses.

Every change is one `nft -f -` transaction that first (re)declares the table, the
sets and the base chains: declaring is idempotent, and the base chains are
flushed and refilled in the same transaction, so a half-configured gateway is
repaired by the next action. Elements are added with their timeout and expire in
the kernel by themselves. Removal adds and deletes an element in one
transaction, which never fails on an element that already expired (nft 1.0.6 has
no `destroy`). With `netns`, every command runs as `ip netns exec NETNS nft ...`,
for tests and for sites with several gateways on one host.

Needs the `nft` binary (Debian: `apt-get install nftables`) and CAP_NET_ADMIN.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import subprocess
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from vigil.respond.actions import seconds
from vigil.respond.backends import Added, BlockList, IPAddress, IPNetwork, RateLimit
from vigil.respond.errors import AmbiguousError, ConfigError, PermanentError

logger = logging.getLogger(__name__)

NETNS_DIR = Path("/run/netns")
METER_TIMEOUT = "60s"
METER_SIZE = 65535
FAMILIES = (4, 6)
LISTS = {BlockList.ADDRESS: "block", BlockList.RANGE: "range", BlockList.GEO: "geo"}
INTERVAL = {BlockList.ADDRESS: False, BlockList.RANGE: True, BlockList.GEO: True}


def _proto(version: int) -> str:
    return "ip" if version == 4 else "ip6"


def _addr_type(version: int) -> str:
    return "ipv4_addr" if version == 4 else "ipv6_addr"


def _element(network: IPNetwork) -> str:
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return str(network)


def _rate_sets(rate: RateLimit, version: int) -> tuple[str, str]:
    suffix = f"{version}_{rate.packets_per_second}_{rate.burst}"
    return f"rate{suffix}", f"meter{suffix}"


@dataclass(frozen=True)
class NftFirewall:
    """One gateway's nftables, optionally inside a network namespace."""

    netns: str | None = None
    table: str = "vigil"
    nft: str = "nft"
    priority: int = -10

    # --- Firewall protocol ---------------------------------------------------------

    def block(
        self, networks: Sequence[IPNetwork], blocklist: BlockList, timeout: timedelta, limit: float
    ) -> Added:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        base = LISTS[blocklist]
        if not INTERVAL[blocklist]:
            wide = [str(n) for n in networks if n.prefixlen != n.max_prefixlen]
            if wide:
                raise PermanentError(f"the address blocklist takes single addresses, not {wide}")
        existing = self._elements(deadline)
        present: list[IPNetwork] = []
        fresh: list[IPNetwork] = []
        for network in networks:
            there = existing.get(f"{base}{network.version}", set())
            (present if network in there else fresh).append(network)
            clash = [
                str(o)
                for o in there
                if INTERVAL[blocklist] and o != network and o.overlaps(network)
            ]
            if clash:
                raise PermanentError(
                    f"{network} overlaps {', '.join(clash)} already in {base}{network.version}"
                )
        lines = [
            f"add element {self._t} {base}{n.version} {{ {_element(n)} timeout {seconds(timeout)}s }}"
            for n in fresh
        ]
        self._script(lines, deadline)
        return Added(tuple(fresh), tuple(present))

    def unblock(self, networks: Sequence[IPNetwork], blocklist: BlockList, limit: float) -> None:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        existing = self._elements(deadline)
        base = LISTS[blocklist]
        self._script(
            self._removals(
                (f"{base}{n.version}", _element(n))
                for n in networks
                if n in existing.get(f"{base}{n.version}", set())
            ),
            deadline,
        )

    def quarantine(
        self, device: IPAddress, management: Sequence[IPAddress], timeout: timedelta, limit: float
    ) -> bool:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        fresh = ipaddress.ip_network(device) not in self._elements(deadline).get(
            f"quarantine{device.version}", set()
        )
        after = f"timeout {seconds(timeout)}s"
        pairs = ", ".join(f"{device} . {address} {after}" for address in management)
        self._script(
            [
                f"add element {self._t} qallow{device.version} {{ {pairs} }}",
                f"add element {self._t} quarantine{device.version} {{ {device} {after} }}",
            ],
            deadline,
        )
        return fresh

    def release(self, device: IPAddress, management: Sequence[IPAddress], limit: float) -> None:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        removals = [(f"quarantine{device.version}", str(device))]
        removals += [(f"qallow{device.version}", f"{device} . {address}") for address in management]
        self._script(self._removals(removals), deadline)

    def rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, timeout: timedelta, limit: float
    ) -> Added:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        existing = self._elements(deadline)
        lines: list[str] = []
        for version in sorted({network.version for network in networks}):
            if _rate_sets(rate, version)[0] not in existing:
                lines += self._rate_tier(rate, version)
        present = [n for n in networks if n in existing.get(_rate_sets(rate, n.version)[0], set())]
        fresh = [n for n in networks if n not in present]
        lines += [
            f"add element {self._t} {_rate_sets(rate, n.version)[0]} "
            f"{{ {_element(n)} timeout {seconds(timeout)}s }}"
            for n in fresh
        ]
        self._script(lines, deadline)
        return Added(tuple(fresh), tuple(present))

    def remove_rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, limit: float
    ) -> None:
        deadline = time.monotonic() + limit
        self._ensure(deadline)
        existing = self._elements(deadline)
        self._script(
            self._removals(
                (_rate_sets(rate, n.version)[0], _element(n))
                for n in networks
                if n in existing.get(_rate_sets(rate, n.version)[0], set())
            ),
            deadline,
        )

    # --- reading the table -----------------------------------------------------------

    def elements(self, limit: float = 5.0) -> dict[str, set[IPNetwork]]:
        """Each set's single-address and range elements (not the pairs), for checks."""
        return self._elements(time.monotonic() + limit)

    def _elements(self, deadline: float) -> dict[str, set[IPNetwork]]:
        out = self._run(["-j", "list", "table", "inet", self.table], None, deadline)
        found: dict[str, set[IPNetwork]] = {}
        for item in json.loads(out).get("nftables", []):
            if "set" in item:
                found[item["set"]["name"]] = set(_networks(item["set"].get("elem", [])))
        return found

    # --- writing ---------------------------------------------------------------------

    @property
    def _t(self) -> str:
        return f"inet {self.table}"

    def _ensure(self, deadline: float) -> None:
        self._script(self._declarations(), deadline)

    def _declarations(self) -> list[str]:
        t = self._t
        lines = [f"add table {t}", f"add chain {t} ratelimit"]
        for version in FAMILIES:
            kind = _addr_type(version)
            for blocklist, base in LISTS.items():
                flags = "interval, timeout" if INTERVAL[blocklist] else "timeout"
                lines.append(f"add set {t} {base}{version} {{ type {kind}; flags {flags}; }}")
            lines.append(f"add set {t} quarantine{version} {{ type {kind}; flags timeout; }}")
            lines.append(f"add set {t} qallow{version} {{ type {kind} . {kind}; flags timeout; }}")
        for chain in ("input", "forward", "output"):
            hook = f"type filter hook {chain} priority {self.priority}; policy accept;"
            lines += [f"add chain {t} {chain} {{ {hook} }}", f"flush chain {t} {chain}"]
            lines += [f"add rule {t} {chain} {rule}" for rule in _base_rules(chain)]
        return lines

    def _rate_tier(self, rate: RateLimit, version: int) -> list[str]:
        sources, meter = _rate_sets(rate, version)
        kind, proto = _addr_type(version), _proto(version)
        burst = f" burst {rate.burst} packets" if rate.burst else ""
        over = f"limit rate over {rate.packets_per_second}/second{burst}"
        return [
            f"add set {self._t} {sources} {{ type {kind}; flags interval, timeout; }}",
            f"add set {self._t} {meter} {{ type {kind}; size {METER_SIZE}; "
            f"flags dynamic, timeout; timeout {METER_TIMEOUT}; }}",
            f"add rule {self._t} ratelimit {proto} saddr @{sources} "
            f"update @{meter} {{ {proto} saddr {over} }} drop",
        ]

    def _removals(self, elements: Iterable[tuple[str, str]]) -> list[str]:
        """Add then delete each element: one transaction that cannot miss an expired one."""
        lines: list[str] = []
        for name, element in elements:
            lines.append(f"add element {self._t} {name} {{ {element} }}")
            lines.append(f"delete element {self._t} {name} {{ {element} }}")
        return lines

    def _script(self, lines: Sequence[str], deadline: float) -> None:
        if lines:
            self._run(["-f", "-"], "\n".join(lines) + "\n", deadline)

    def _run(self, args: list[str], script: str | None, deadline: float) -> str:
        command = [self.nft, *args]
        if self.netns is not None:
            if not (NETNS_DIR / self.netns).exists():
                raise ConfigError(f"network namespace {self.netns!r} does not exist")
            command = ["ip", "netns", "exec", self.netns, *command]
        remaining = max(0.1, deadline - time.monotonic())
        try:
            done = subprocess.run(  # noqa: S603 - fixed argv, no shell
                command,
                input=script,
                capture_output=True,
                text=True,
                timeout=remaining,
                check=False,
            )
        except FileNotFoundError:
            raise ConfigError(
                f"{command[0]!r} not found; install nftables (and iproute2)"
            ) from None
        except subprocess.TimeoutExpired:
            raise AmbiguousError(f"nft did not finish within {remaining:.1f} s") from None
        if done.returncode != 0:
            raise PermanentError(f"nft {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout


def _base_rules(chain: str) -> list[str]:
    rules: list[str] = []
    for version in FAMILIES:
        p = _proto(version)
        q, allow = f"quarantine{version}", f"qallow{version}"
        if chain != "output":
            rules.append(f"{p} saddr . {p} daddr @{allow} accept")
        rules.append(f"{p} daddr . {p} saddr @{allow} accept")
        if chain != "output":
            rules.append(f"{p} saddr @{q} drop")
        rules.append(f"{p} daddr @{q} drop")
        for base in LISTS.values():
            if chain != "output":
                rules.append(f"{p} saddr @{base}{version} drop")
            if chain != "input":
                rules.append(f"{p} daddr @{base}{version} drop")
    if chain != "output":
        rules.append("jump ratelimit")
    return rules


def _networks(elements: list[Any]) -> Iterable[IPNetwork]:
    """The addresses and prefixes of nft's JSON set elements (pairs and ranges are skipped)."""
    for element in elements:
        value = (
            element["elem"]["val"] if isinstance(element, dict) and "elem" in element else element
        )
        if isinstance(value, str):
            yield ipaddress.ip_network(value)
        elif isinstance(value, dict) and "prefix" in value:
            prefix = value["prefix"]
            yield ipaddress.ip_network(f"{prefix['addr']}/{prefix['len']}")
        elif isinstance(value, dict) and "range" in value:
            low, high = (ipaddress.ip_address(bound) for bound in value["range"])
            yield from ipaddress.summarize_address_range(low, high)
