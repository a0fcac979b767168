"""What a playbook reads from an incident, and the situation it is read in.

`IncidentFacts` is the response stage's view of a correlated incident: use
cases, rules, severity, risk, tags, stores, entities and status, nothing else.
`Situation` adds the moment and the estate, and answers the questions that
conditions and templates ask: is the store trading, how high is the peak level,
which assets the incident's devices are. Without an estate, stores count as
trading (the safe answer: more approvals, fewer after-hours automatics).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from vigil.correlate.types import Incident
from vigil.detect.forecast.policy import policy_level
from vigil.estate.errors import UnknownStoreError
from vigil.estate.types import Asset, Estate, SegmentKind, Store
from vigil.respond.geo import CountryRanges

INTERNAL = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
"""Addresses that never belong to an outside party: private, shared, loopback, link-local."""


@dataclass(frozen=True)
class IncidentFacts:
    """The incident as playbooks see it."""

    uid: str
    title: str
    status: str
    severity: int
    """OCSF severity_id of the most severe alert, 1 to 5."""
    risk: float
    risk_level: str
    use_case: str
    """The use case of the most severe (then earliest) alert."""
    use_cases: frozenset[str]
    rules: frozenset[str]
    tags: frozenset[str]
    """ATT&CK tactics and technique ids of the incident's alerts."""
    stores: tuple[str, ...]
    entities: Mapping[str, tuple[str, ...]]
    opened_at: datetime
    first_seen: datetime
    last_seen: datetime

    @classmethod
    def of(cls, incident: Incident) -> IncidentFacts:
        entities: dict[str, set[str]] = {}
        for entity in incident.entities:
            entities.setdefault(entity.kind, set()).add(entity.value)
        for alert in incident.alerts:
            for kind, value in alert.entities.items():
                entities.setdefault(kind, set()).add(value)
        leading = sorted(incident.alerts, key=lambda a: (-a.severity, a.time, a.uid))
        return cls(
            uid=incident.uid,
            title=incident.title,
            status=incident.status.value,
            severity=incident.severity,
            risk=incident.risk.score,
            risk_level=incident.risk.level.value,
            use_case=leading[0].use_case if leading else "",
            use_cases=frozenset(a.use_case for a in incident.alerts if a.use_case),
            rules=frozenset(a.rule_uid for a in incident.alerts),
            tags=frozenset({*incident.tactics, *(t for a in incident.alerts for t in a.attack)}),
            stores=incident.stores,
            entities={kind: tuple(sorted(values)) for kind, values in entities.items()},
            opened_at=incident.opened_at,
            first_seen=incident.first_seen,
            last_seen=incident.last_seen,
        )

    def values(self, kind: str) -> tuple[str, ...]:
        return self.entities.get(kind, ())

    def public_ips(self) -> tuple[str, ...]:
        """The incident's IP entities outside every internal range (attackers, C2), sorted.

        Documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as
        outside: the simulator gives them to attackers.
        """
        found = []
        for value in self.values("ip"):
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                continue
            special = address.is_multicast or address.is_unspecified or address.is_reserved
            if not special and not any(address in network for network in INTERNAL):
                found.append(value)
        return tuple(found)


@dataclass(frozen=True)
class Situation:
    """An incident at a moment, in an estate: what conditions and templates are evaluated on."""

    facts: IncidentFacts
    now: datetime
    estate: Estate | None = None
    gateways: frozenset[str] = field(default_factory=frozenset)
    """Configured gateway names: a store's own gateway is the one named after it."""
    countries: CountryRanges | None = None
    """Country ranges for the `country` filter; None: the sample table."""

    @cached_property
    def stores(self) -> tuple[Store, ...]:
        """The incident's stores that the estate knows."""
        if self.estate is None:
            return ()
        known = []
        for uid in self.facts.stores:
            try:
                known.append(self.estate.store(uid))
            except UnknownStoreError:
                continue
        return tuple(known)

    @cached_property
    def regions(self) -> tuple[str, ...]:
        if self.estate is None:
            return ()
        found = []
        for uid in self.facts.stores:
            try:
                found.append(self.estate.region_of(uid).uid)
            except UnknownStoreError:
                continue
        return tuple(sorted(set(found)))

    @cached_property
    def assets(self) -> tuple[tuple[Store, Asset], ...]:
        """Estate assets named by the incident's device entities, then those holding one of its IPs.

        Templates act on the first (`asset.ip`): a device the alerts named comes before
        one that only shares an address with the incident.
        """
        if self.estate is None:
            return ()
        devices = set(self.facts.values("device"))
        ips = set(self.facts.values("ip"))
        named = [(s, a) for s, a in self.estate.assets if a.uid in devices]
        by_ip = [
            (s, a)
            for s, a in self.estate.assets
            if a.uid not in devices and a.ip is not None and a.ip in ips
        ]
        return (*named, *by_ip)

    def segment_kind(self, store: Store, asset: Asset) -> SegmentKind | None:
        segment = store.segment(asset.segment)
        return None if segment is None else segment.kind

    @cached_property
    def store_open(self) -> bool:
        """Any of the incident's stores trading now; unknown stores count as trading."""
        if self.estate is None or len(self.stores) < len(self.facts.stores) or not self.stores:
            return True
        return any(self.estate.is_open(store, self.now) for store in self.stores)

    @cached_property
    def peak_level(self) -> tuple[int, str]:
        """The highest policy level of the incident's stores (0 without an estate), and why."""
        if self.estate is None or not self.stores:
            return 0, "no estate context"
        levels = [policy_level(self.estate, store.uid, self.now) for store in self.stores]
        best = max(levels, key=lambda level: level.level)
        return best.level, best.reason

    def gateway(self, store_uid: str) -> str:
        return store_uid if store_uid in self.gateways else "default"
