"""Enrichment at ingest: store, asset, segment and identity from the estate; country by IP.

Context decides priority (DESIGN.md, decision 5), so every batch is given its
context before it reaches the lake:

- each endpoint-like group (`src_endpoint`, `dst_endpoint`, `device`, `camera`,
  ...) is matched to an estate asset by exact IP (the event's store first), MAC,
  uid or hostname; its `uid`, `name`, `hostname` and OCSF `type_id`/`type` are
  filled, and `zone` becomes the segment kind (`cardholder_data`, `pos`, ...).
  An IP that is no asset still gets its segment by CIDR; when segments nest,
  the most specific one wins;
- `store.uid` comes from the source endpoint, then the device (and other
  endpoint groups), then the destination, then the user's home store (an
  identity that works at exactly one store); `store.name` and
  `store.region_uid` follow from the store;
- user-shaped groups (`user`, `actor.user`, `cashier`, ...) are matched to an
  identity by username (case-insensitive, without `DOMAIN\\` or `@domain`), by
  till operator id, or by identity uid: `uid`, `name`, `full_name`, `type_id`
  (1 User, 4 Service, 99 Other for vendors) and `type` (the estate's kind:
  cashier, manager, vendor ...) are filled;
- public IPv4 addresses get `location.country` from a CIDR -> ISO 3166 table.
  Private, loopback, link-local, shared, benchmarking, documentation and
  multicast ranges never get a country.

Nothing the source said is overwritten: only null or empty values are filled
(and an endpoint `type_id` of 0, Unknown). IPv6 addresses are left alone.

Everything is vectorised: IPv4 strings become integers with one regular
expression, ranges are flattened at start-up into sorted, non-overlapping
intervals and looked up with `numpy.searchsorted`, exact keys are hash lookups
in polars. No Python runs per event.

Where each part lives: `enricher.py` (the `Enricher`, and the store decision),
`assets.py` (assets and segments), `identities.py`, `geo.py` (the range tables
and the country table, with how to replace the sample one), `columns.py` (the
lookup helpers they share).
"""

from __future__ import annotations

from vigil.ingest.enrich.assets import DEVICE_TYPES, AssetIndex
from vigil.ingest.enrich.enricher import Enricher
from vigil.ingest.enrich.geo import (
    GEO_TABLE,
    IPV4,
    NONE,
    NOT_GLOBAL,
    GeoTable,
    RangeTable,
    ipv4_numbers,
    is_global,
    network_bounds,
)
from vigil.ingest.enrich.identities import USER_TYPES, IdentityIndex

__all__ = [
    "DEVICE_TYPES",
    "GEO_TABLE",
    "IPV4",
    "NONE",
    "NOT_GLOBAL",
    "USER_TYPES",
    "AssetIndex",
    "Enricher",
    "GeoTable",
    "IdentityIndex",
    "RangeTable",
    "ipv4_numbers",
    "is_global",
    "network_bounds",
]
