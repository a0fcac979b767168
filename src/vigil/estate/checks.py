"""Cross-field checks of an estate: small named functions, each yielding problems.

A check returns (path, message) pairs; the loader turns paths into file:line.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Callable, Iterator

from vigil.estate.types import Estate

Path = tuple[str | int, ...]
Finding = tuple[Path, str]


def _store_paths(estate: Estate) -> Iterator[tuple[Path, int, int]]:
    for r, region in enumerate(estate.regions):
        for s, _ in enumerate(region.stores):
            yield ("regions", r, "stores", s), r, s


def unique_store_uids(estate: Estate) -> Iterator[Finding]:
    counts = Counter(store.uid for store in estate.stores)
    for path, r, s in _store_paths(estate):
        uid = estate.regions[r].stores[s].uid
        if counts[uid] > 1:
            yield (*path, "uid"), f"store uid {uid!r} is used {counts[uid]} times"


def unique_asset_uids(estate: Estate) -> Iterator[Finding]:
    counts = Counter(asset.uid for _, asset in estate.assets)
    for path, r, s in _store_paths(estate):
        for a, asset in enumerate(estate.regions[r].stores[s].assets):
            if counts[asset.uid] > 1:
                yield (
                    (*path, "assets", a, "uid"),
                    f"asset uid {asset.uid!r} is used {counts[asset.uid]} times",
                )


def assets_in_known_segments(estate: Estate) -> Iterator[Finding]:
    for path, r, s in _store_paths(estate):
        store = estate.regions[r].stores[s]
        for a, asset in enumerate(store.assets):
            segment = store.segment(asset.segment)
            if segment is None:
                known = ", ".join(seg.name for seg in store.segments) or "none"
                yield (
                    (*path, "assets", a, "segment"),
                    (
                        f"segment {asset.segment!r} is not defined in store {store.uid} (known: {known})"
                    ),
                )
            elif asset.ip is not None and ipaddress.ip_address(asset.ip) not in segment.network:
                yield (
                    (*path, "assets", a, "ip"),
                    (f"{asset.ip} is outside segment {segment.name} ({segment.cidr})"),
                )


def valid_addresses(estate: Estate) -> Iterator[Finding]:
    for path, r, s in _store_paths(estate):
        store = estate.regions[r].stores[s]
        for g, segment in enumerate(store.segments):
            try:
                ipaddress.ip_network(segment.cidr, strict=False)
            except ValueError as error:
                yield (*path, "segments", g, "cidr"), str(error)
        for a, asset in enumerate(store.assets):
            if asset.ip is not None:
                try:
                    ipaddress.ip_address(asset.ip)
                except ValueError as error:
                    yield (*path, "assets", a, "ip"), str(error)


def zones_exist(estate: Estate) -> Iterator[Finding]:
    for path, r, s in _store_paths(estate):
        store = estate.regions[r].stores[s]
        zones = {zone.uid for zone in store.zones}
        for a, asset in enumerate(store.assets):
            if asset.zone is not None and asset.zone not in zones:
                yield (
                    (*path, "assets", a, "zone"),
                    f"zone {asset.zone!r} is not in store {store.uid}'s layout",
                )


def identities_reference_stores(estate: Estate) -> Iterator[Finding]:
    stores = {store.uid for store in estate.stores}
    usernames = Counter(identity.username for identity in estate.identities)
    for i, identity in enumerate(estate.identities):
        for k, uid in enumerate(identity.stores):
            if uid not in stores:
                yield ("identities", i, "stores", k), f"store {uid!r} does not exist"
        if usernames[identity.username] > 1:
            yield ("identities", i, "username"), f"username {identity.username!r} is not unique"
        if identity.kind == "vendor" and identity.vendor is None:
            yield ("identities", i), "a vendor identity needs a `vendor` section (allowed access)"


def peaks_in_order(estate: Estate) -> Iterator[Finding]:
    for p, peak in enumerate(estate.peaks):
        if peak.end is not None and peak.end < peak.start:
            yield ("peaks", p, "end"), f"ends ({peak.end}) before it starts ({peak.start})"
    for path, r, s in _store_paths(estate):
        for p, peak in enumerate(estate.regions[r].stores[s].peaks):
            if peak.end is not None and peak.end < peak.start:
                yield (
                    (*path, "peaks", p, "end"),
                    f"ends ({peak.end}) before it starts ({peak.start})",
                )


CHECKS: tuple[Callable[[Estate], Iterator[Finding]], ...] = (
    unique_store_uids,
    unique_asset_uids,
    valid_addresses,
    assets_in_known_segments,
    zones_exist,
    identities_reference_stores,
    peaks_in_order,
)
