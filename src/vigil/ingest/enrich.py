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

The country table
-----------------
`geo_country.csv` (next to this module) is a *small, hand-written sample*: the
public ranges the simulator uses for shoppers, cloud services, vendors and the
attacker, plus a handful of well-known networks. It is approximate and is not a
geolocation database. An operator replaces it with a CSV of the same shape
(`network,country`, one IPv4 CIDR and ISO code a line) and passes it in:

    Enricher(estate, GeoTable.from_csv(Path("/etc/vigil/country.csv")))

For example, from a GeoLite2 or DB-IP country CSV the operator is licensed to
use (GeoLite2: join the Blocks-IPv4 file's `geoname_id` to the Locations file's
`country_iso_code`):

    duckdb -c "COPY (SELECT b.network, l.country_iso_code AS country
      FROM 'GeoLite2-Country-Blocks-IPv4.csv' b
      JOIN 'GeoLite2-Country-Locations-en.csv' l USING (geoname_id)
      WHERE l.country_iso_code IS NOT NULL) TO 'country.csv' (HEADER)"

Rows with IPv6 networks or empty countries are skipped.
"""

from __future__ import annotations

import csv
import ipaddress
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

from vigil.estate.types import Asset, AssetKind, Estate, Identity, IdentityKind, Store
from vigil.events import EventBatch

logger = logging.getLogger(__name__)

GEO_TABLE = "geo_country.csv"
NONE = -1

OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"^{OCTET}\.{OCTET}\.{OCTET}\.{OCTET}$"

NOT_GLOBAL = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
)
"""IPv4 ranges that have no country: private, loopback, documentation and the like."""

DEVICE_TYPES: dict[AssetKind, tuple[int, str]] = {
    AssetKind.POS_TERMINAL: (99, "POS Terminal"),
    AssetKind.SELF_CHECKOUT: (99, "Self-Checkout"),
    AssetKind.PAYMENT_TERMINAL: (99, "Payment Terminal"),
    AssetKind.CAMERA: (7, "IOT"),
    AssetKind.NVR: (7, "IOT"),
    AssetKind.SENSOR: (7, "IOT"),
    AssetKind.SMART_SHELF: (7, "IOT"),
    AssetKind.HVAC: (7, "IOT"),
    AssetKind.DOOR_CONTROLLER: (7, "IOT"),
    AssetKind.ALARM_PANEL: (7, "IOT"),
    AssetKind.IOT_GATEWAY: (7, "IOT"),
    AssetKind.PRINTER: (7, "IOT"),
    AssetKind.ACCESS_POINT: (99, "Access Point"),
    AssetKind.SWITCH: (10, "Switch"),
    AssetKind.FIREWALL: (9, "Firewall"),
    AssetKind.ROUTER: (12, "Router"),
    AssetKind.SERVER: (1, "Server"),
    AssetKind.WORKSTATION: (2, "Desktop"),
}
"""Asset kind -> OCSF device / network endpoint `type_id` and its caption (99: our label)."""

USER_TYPES: dict[IdentityKind, int] = {
    IdentityKind.EMPLOYEE: 1,
    IdentityKind.CASHIER: 1,
    IdentityKind.MANAGER: 1,
    IdentityKind.SECURITY: 1,
    IdentityKind.SERVICE: 4,
    IdentityKind.VENDOR: 99,
}
"""Identity kind -> OCSF user `type_id` (1 User, 2 Admin, 3 System, 4 Service, 99 Other)."""


# --- integer ranges ----------------------------------------------------------------


def ipv4_numbers(addresses: pl.Expr) -> pl.Expr:
    """IPv4 dotted quads as Int64; null for anything else (IPv6, names, junk)."""
    parts = addresses.str.extract_groups(IPV4)
    number = pl.lit(0, dtype=pl.Int64)
    for index, shift in enumerate((24, 16, 8, 0), start=1):
        number = number + (parts.struct.field(str(index)).cast(pl.Int64) * (1 << shift))
    return number


def network_bounds(cidr: str) -> tuple[int, int] | None:
    """First and last address of an IPv4 network as integers; None for IPv6."""
    network = ipaddress.ip_network(cidr.strip(), strict=False)
    if not isinstance(network, ipaddress.IPv4Network):
        return None
    return int(network.network_address), int(network.broadcast_address)


@dataclass(frozen=True)
class RangeTable:
    """Integer ranges flattened into sorted, disjoint intervals, each with one owner.

    Ranges may nest (a /24 inside a /16): inside the inner range the inner one
    owns the address. Of identical ranges the last one given wins.

    >>> table = RangeTable.build([(10, 20), (12, 13)])
    >>> table.lookup(np.array([9, 10, 12, 13, 14, 20, 21])).tolist()
    [-1, 0, 1, 1, 0, 0, -1]
    """

    starts: npt.NDArray[np.int64]
    owners: npt.NDArray[np.int64]

    @classmethod
    def build(cls, ranges: Sequence[tuple[int, int]]) -> RangeTable:
        order = sorted(range(len(ranges)), key=lambda i: (ranges[i][0], -ranges[i][1], i))
        points: dict[int, int] = {}
        open_ranges: list[tuple[int, int]] = []  # (last, owner), innermost at the end

        def close_before(limit: int) -> None:
            while open_ranges and open_ranges[-1][0] < limit:
                last, _ = open_ranges.pop()
                points[last + 1] = open_ranges[-1][1] if open_ranges else NONE

        for owner in order:
            first, last = ranges[owner]
            close_before(first)
            points[first] = owner
            open_ranges.append((last, owner))
        close_before(1 << 62)
        starts = np.array(sorted(points), dtype=np.int64)
        owners = np.array([points[start] for start in starts.tolist()], dtype=np.int64)
        return cls(starts, owners)

    def lookup(self, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The owner of each number, or -1 (negative numbers mean "no address")."""
        if not len(self.starts):
            return np.full(len(numbers), NONE, dtype=np.int64)
        slot = np.searchsorted(self.starts, numbers, side="right") - 1
        found = self.owners[np.clip(slot, 0, None)]
        return np.where((slot >= 0) & (numbers >= 0), found, NONE).astype(np.int64)


# --- the country table ---------------------------------------------------------------


@dataclass(frozen=True)
class GeoTable:
    """IPv4 CIDR -> ISO 3166 country code, for public addresses only."""

    ranges: RangeTable
    countries: tuple[str, ...]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str]]) -> GeoTable:
        bounds: list[tuple[int, int]] = []
        countries: list[str] = []
        for network, country in rows:
            found = network_bounds(network) if country.strip() else None
            if found is not None:
                bounds.append(found)
                countries.append(country.strip().upper())
        return cls(RangeTable.build(bounds), tuple(countries))

    @classmethod
    def from_csv(cls, path: Path) -> GeoTable:
        """A `network,country` CSV with a header line."""
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            return cls.from_rows((row["network"], row["country"]) for row in reader)

    @classmethod
    def sample(cls) -> GeoTable:
        """The small sample table that ships with Vigil (see the module docstring)."""
        text = resources.files("vigil.ingest").joinpath(GEO_TABLE).read_text(encoding="utf-8")
        reader = csv.DictReader(text.splitlines())
        return cls.from_rows((row["network"], row["country"]) for row in reader)


_NOT_GLOBAL = RangeTable.build(
    [bounds for cidr in NOT_GLOBAL if (bounds := network_bounds(cidr)) is not None]
)


def is_global(numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """True for valid IPv4 numbers outside every non-global range."""
    found: npt.NDArray[np.bool_] = (numbers >= 0) & (_NOT_GLOBAL.lookup(numbers) == NONE)
    return found


# --- estate lookups ------------------------------------------------------------------


def _unique(pairs: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Key -> index for keys that name exactly one thing; ambiguous keys are dropped."""
    found: dict[str, int] = {}
    seen_twice: set[str] = set()
    for key, index in pairs:
        if key in found and found[key] != index:
            seen_twice.add(key)
        found.setdefault(key, index)
    return {key: index for key, index in found.items() if key not in seen_twice}


def _index(values: pl.Expr, mapping: Mapping[str, int]) -> pl.Expr:
    if not mapping:
        return pl.lit(None, dtype=pl.Int64)
    return values.replace_strict(mapping, default=None, return_dtype=pl.Int64)


def _normal_username(values: pl.Expr) -> pl.Expr:
    return (
        values.str.to_lowercase()
        .str.replace(r"^.*\\", "")
        .str.replace(r"@.*$", "")
        .str.strip_chars()
    )


def _empty(column: str) -> pl.Expr:
    value = pl.col(column)
    return value.is_null() | (value.cast(pl.String) == "")


def _fill(column: str, value: pl.Expr) -> pl.Expr:
    return pl.when(_empty(column)).then(value).otherwise(pl.col(column)).alias(column)


class Enricher:
    """Adds estate context and country to event batches; build once, call per batch.

    >>> enricher = Enricher(estate)            # doctest: +SKIP
    >>> ingestor = Ingestor(lake, database, enricher)   # doctest: +SKIP
    """

    def __init__(self, estate: Estate, geo: GeoTable | None = None) -> None:
        self.geo = geo if geo is not None else GeoTable.sample()
        stores = estate.stores
        self._stores = pl.DataFrame(
            {
                "uid": [s.uid for s in stores],
                "name": [s.name for s in stores],
                "region_uid": [estate.region_of(s.uid).uid for s in stores],
            }
        )
        self._store_index = _unique((s.uid, i) for i, s in enumerate(stores))
        self._init_assets(estate.assets)
        self._init_segments(stores)
        self._init_identities(estate.identities)

    def _init_assets(self, assets: Sequence[tuple[Store, Asset]]) -> None:
        segments = [store.segment(asset.segment) for store, asset in assets]
        kinds = [segment.kind.value if segment is not None else None for segment in segments]
        types = [DEVICE_TYPES.get(asset.kind, (99, "Other")) for _, asset in assets]
        self._assets = pl.DataFrame(
            {
                "uid": [a.uid for _, a in assets],
                "name": [a.name for _, a in assets],
                "store": [s.uid for s, _ in assets],
                "zone": kinds,
                "type_id": [t[0] for t in types],
                "type": [t[1] for t in types],
            },
            schema={
                "uid": pl.String,
                "name": pl.String,
                "store": pl.String,
                "zone": pl.String,
                "type_id": pl.Int64,
                "type": pl.String,
            },
        )
        self._asset_by_store_ip = _unique(
            (f"{s.uid}|{a.ip}", i) for i, (s, a) in enumerate(assets) if a.ip
        )
        self._asset_by_ip = _unique((a.ip, i) for i, (_, a) in enumerate(assets) if a.ip)
        self._asset_by_mac = _unique((a.mac, i) for i, (_, a) in enumerate(assets) if a.mac)
        self._asset_by_name = _unique(
            (key.lower(), i) for i, (_, a) in enumerate(assets) for key in (a.uid, a.name)
        )

    def _init_segments(self, stores: Sequence[Store]) -> None:
        found: dict[tuple[int, int], list[tuple[str, str]]] = {}
        for store in stores:
            for segment in store.segments:
                bounds = network_bounds(segment.cidr)
                if bounds is not None:
                    found.setdefault(bounds, []).append((store.uid, segment.kind.value))
        ambiguous = [bounds for bounds, owners in found.items() if len(set(owners)) > 1]
        for bounds in ambiguous:
            logger.warning("segment %s is in several stores; no CIDR context for it", bounds)
        kept = [(bounds, owners[0]) for bounds, owners in found.items() if len(set(owners)) == 1]
        self._segments = RangeTable.build([bounds for bounds, _ in kept])
        self._segment_info = pl.DataFrame(
            {"store": [o[0] for _, o in kept], "zone": [o[1] for _, o in kept]},
            schema={"store": pl.String, "zone": pl.String},
        )

    def _init_identities(self, identities: Sequence[Identity]) -> None:
        self._identities = pl.DataFrame(
            {
                "uid": [p.uid for p in identities],
                "name": [p.username for p in identities],
                "full_name": [p.name for p in identities],
                "type_id": [USER_TYPES.get(p.kind, 99) for p in identities],
                "type": [p.kind.value for p in identities],
                "store": [p.stores[0] if len(p.stores) == 1 else None for p in identities],
            },
            schema={
                "uid": pl.String,
                "name": pl.String,
                "full_name": pl.String,
                "type_id": pl.Int64,
                "type": pl.String,
                "store": pl.String,
            },
        )
        self._by_username = _unique((p.username.lower(), i) for i, p in enumerate(identities))
        self._by_operator = _unique(
            (p.cashier_id, i) for i, p in enumerate(identities) if p.cashier_id
        )
        self._by_identity_uid = _unique((p.uid, i) for i, p in enumerate(identities))

    # --- per batch ---------------------------------------------------------------

    def __call__(self, batch: EventBatch) -> EventBatch:
        if not len(batch):
            return batch
        names = set(batch.table.column_names)
        endpoints = sorted(
            {name[: -len(".ip")] for name in names if name.endswith(".ip")},
            key=_endpoint_order,
        )
        users = [
            name[: -len(".full_name")]
            for name in batch.table.column_names
            if name.endswith(".full_name") and f"{name[: -len('.full_name')]}.type_id" in names
        ]
        wanted = [
            name
            for name in batch.table.column_names
            if name.startswith("store.")
            or any(name.startswith(f"{group}.") for group in (*endpoints, *users))
        ]
        frame = pl.from_arrow(batch.table.select(wanted))
        if not isinstance(frame, pl.DataFrame):  # pragma: no cover - a table gives a frame
            raise TypeError("expected a data frame")
        stores: list[pl.Series] = []
        ip_owner: dict[str, pl.Series] = {}
        for group in endpoints:
            frame, store = self._endpoint(frame, group, names)
            ip_owner[group] = store
        homes = []
        for group in users:
            frame, home = self._user(frame, group, names)
            homes.append(home)
        stores = [ip_owner[g] for g in endpoints if g != "dst_endpoint"]
        stores += [ip_owner[g] for g in endpoints if g == "dst_endpoint"] + homes
        frame = self._store(frame, stores, names)
        return EventBatch(batch.event_class, _replace(batch.table, frame))

    def _endpoint(
        self, frame: pl.DataFrame, group: str, names: set[str]
    ) -> tuple[pl.DataFrame, pl.Series]:
        ip, store_uid = pl.col(f"{group}.ip"), pl.col("store.uid")
        keys = frame.select(
            _index(pl.concat_str(store_uid, pl.lit("|"), ip), self._asset_by_store_ip).alias("a"),
            _index(ip, self._asset_by_ip).alias("b"),
            _present(
                frame, f"{group}.mac", lambda c: _index(c.str.to_lowercase(), self._asset_by_mac)
            ),
            _present(
                frame, f"{group}.uid", lambda c: _index(c.str.to_lowercase(), self._asset_by_name)
            ),
            _present(
                frame,
                f"{group}.hostname",
                lambda c: _index(c.str.to_lowercase(), self._asset_by_name),
            ),
            _present(
                frame, f"{group}.name", lambda c: _index(c.str.to_lowercase(), self._asset_by_name)
            ),
            ipv4_numbers(ip).fill_null(-1).alias("number"),
        )
        asset_index = keys.select(pl.coalesce(pl.exclude("number")))[:, 0]
        numbers = keys["number"].to_numpy().astype(np.int64)
        segment = self._segments.lookup(numbers)
        segment_index = _nullable(segment)
        given = frame["store.uid"] if "store.uid" in frame.columns else None
        asset = _same_store(_gather(self._assets, asset_index), given)
        seg = _same_store(_gather(self._segment_info, segment_index), given)
        zone = asset["zone"].fill_null(seg["zone"])
        store = asset["store"].fill_null(seg["store"])
        country = None
        if f"{group}.location.country" in names:
            owner = self.geo.ranges.lookup(numbers)
            owner = np.where(is_global(numbers), owner, NONE)
            codes = pl.DataFrame({"c": self.geo.countries}, schema={"c": pl.String})
            country = _gather(codes, _nullable(owner))["c"]
        fills = []
        for field, value in (
            ("uid", asset["uid"]),
            ("name", asset["name"]),
            ("hostname", asset["uid"]),
            ("zone", zone),
            ("location.country", country),
        ):
            column = f"{group}.{field}"
            if value is not None and column in names:
                fills.append(_fill(column, pl.lit(value)))
        if f"{group}.type_id" in names:
            unknown = pl.col(f"{group}.type_id").is_null() | (pl.col(f"{group}.type_id") == 0)
            known = pl.lit(asset["type_id"]).is_not_null()
            fills.append(
                pl.when(unknown & known)
                .then(pl.lit(asset["type_id"]))
                .otherwise(pl.col(f"{group}.type_id"))
                .alias(f"{group}.type_id")
            )
            if f"{group}.type" in names:
                fills.append(
                    pl.when(unknown & known & _empty(f"{group}.type"))
                    .then(pl.lit(asset["type"]))
                    .otherwise(pl.col(f"{group}.type"))
                    .alias(f"{group}.type")
                )
        return frame.with_columns(fills), store

    def _user(
        self, frame: pl.DataFrame, group: str, names: set[str]
    ) -> tuple[pl.DataFrame, pl.Series]:
        name, uid = pl.col(f"{group}.name"), pl.col(f"{group}.uid")
        index = frame.select(
            pl.coalesce(
                _index(_normal_username(name), self._by_username),
                _index(uid, self._by_operator),
                _index(uid, self._by_identity_uid),
                _index(_normal_username(uid), self._by_username),
            )
        )[:, 0]
        person = _gather(self._identities, index)
        fills = [
            _fill(f"{group}.{field}", pl.lit(person[field]))
            for field in ("uid", "name", "full_name", "type")
            if f"{group}.{field}" in names
        ]
        unknown = pl.col(f"{group}.type_id").is_null() | (pl.col(f"{group}.type_id") == 0)
        fills.append(
            pl.when(unknown & pl.lit(person["type_id"]).is_not_null())
            .then(pl.lit(person["type_id"]))
            .otherwise(pl.col(f"{group}.type_id"))
            .alias(f"{group}.type_id")
        )
        return frame.with_columns(fills), person["store"]

    def _store(
        self, frame: pl.DataFrame, candidates: list[pl.Series], names: set[str]
    ) -> pl.DataFrame:
        if "store.uid" not in names:
            return frame
        if candidates:
            frame = frame.with_columns(
                _fill("store.uid", pl.coalesce([pl.lit(c) for c in candidates]))
            )
        index = frame.select(_index(pl.col("store.uid"), self._store_index))[:, 0]
        store = _gather(self._stores, index)
        return frame.with_columns(
            _fill(f"store.{field}", pl.lit(store[field]))
            for field in ("name", "region_uid")
            if f"store.{field}" in names
        )


def _endpoint_order(group: str) -> tuple[int, str]:
    rank = {"src_endpoint": 0, "device": 1, "dst_endpoint": 9}
    return rank.get(group, 5), group


def _present(frame: pl.DataFrame, column: str, lookup: object) -> pl.Expr:
    if column not in frame.columns or not callable(lookup):
        return pl.lit(None, dtype=pl.Int64).alias(column)
    result: pl.Expr = lookup(pl.col(column))
    return result.alias(column)


def _same_store(found: pl.DataFrame, given: pl.Series | None) -> pl.DataFrame:
    """Rows of nulls where the event names another store than the asset or segment is in."""
    if given is None:
        return found
    other = given.is_not_null() & (given != "") & (found["store"] != given).fill_null(False)
    return found.select(pl.when(other.not_()).then(pl.all()))


def _gather(table: pl.DataFrame, index: pl.Series) -> pl.DataFrame:
    """Rows of `table` by index; a null index gives a row of nulls."""
    if table.height == 0:
        return pl.DataFrame(
            [pl.Series(name, [None] * len(index), dtype) for name, dtype in table.schema.items()]
        )
    return table.select(pl.all().gather(index))


def _nullable(owners: npt.NDArray[np.int64]) -> pl.Series:
    """Owner indexes as a polars column, with -1 as null."""
    column = pl.Series("i", owners, dtype=pl.Int64).to_frame()
    return column.select(pl.when(pl.col("i") >= 0).then(pl.col("i")))[:, 0]


def _replace(table: pa.Table, frame: pl.DataFrame) -> pa.Table:
    """The table with the frame's columns put back, in the table's own types."""
    for name in frame.columns:
        position = table.schema.get_field_index(name)
        field = table.schema.field(position)
        table = table.set_column(position, field, frame[name].to_arrow().cast(field.type))
    return table
