"""Estate context for endpoints: the asset behind an address, MAC, uid or host name.

Each endpoint-like group of an event (`src_endpoint`, `dst_endpoint`, `device`,
`network_observation_point`, ...) is matched to an estate asset by exact IP (the
event's store first), MAC, uid or hostname; its `uid`, `name`, `hostname` and
OCSF `type_id`/`type` are filled, and `zone` becomes the segment kind
(`cardholder_data`, `pos`, ...). An IP that is no asset still gets its segment by
CIDR; when segments nest, the most specific one wins. Public addresses get a
country (`vigil.ingest.enrich.geo`). What was matched also names the event's
store, which `Enricher` decides between the groups.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import polars as pl

from vigil.estate.types import Asset, AssetKind, Store
from vigil.ingest.enrich.columns import (
    fill_empty,
    gather_rows,
    index_of,
    is_empty,
    nullable_index,
    unique_keys,
)
from vigil.ingest.enrich.geo import (
    NONE,
    GeoTable,
    RangeTable,
    ipv4_numbers,
    is_global,
    network_bounds,
)

logger = logging.getLogger(__name__)

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
KEYS = ("ip", "mac", "uid", "hostname", "name")
"""An endpoint group's fields that find its asset (with the event's `store.uid`)."""
TEXT_FILLED = ("uid", "name", "hostname", "zone", "location.country")
"""The fields `AssetIndex.endpoint` may fill, besides `type_id` and `type`."""
ENDPOINT_FIELDS = frozenset((*KEYS, *TEXT_FILLED, "type_id", "type"))
"""What the enricher reads or fills of an endpoint group."""


class AssetIndex:
    """The estate's assets and network segments, indexed for vectorised lookups."""

    def __init__(self, assets: Sequence[tuple[Store, Asset]], stores: Sequence[Store]) -> None:
        self._init_assets(assets)
        self._init_segments(stores)

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
        self._asset_by_store_ip = unique_keys(
            (f"{s.uid}|{a.ip}", i) for i, (s, a) in enumerate(assets) if a.ip
        )
        self._asset_by_ip = unique_keys((a.ip, i) for i, (_, a) in enumerate(assets) if a.ip)
        self._asset_by_mac = unique_keys((a.mac, i) for i, (_, a) in enumerate(assets) if a.mac)
        self._asset_by_name = unique_keys(
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

    def endpoint(
        self, frame: pl.DataFrame, group: str, names: set[str], geo: GeoTable
    ) -> tuple[pl.DataFrame, pl.Series]:
        """The group's empty fields filled from its asset (or segment), and the store found.

        The lookups run once per distinct combination of the group's keys (a chunk of
        90,000 flows holds a few hundred addresses) and are joined back to the rows.
        """
        keys = [name for name in ("store.uid", *(f"{group}.{f}" for f in KEYS)) if name in names]
        rows = frame.select(keys)
        distinct = rows.unique()  # in no particular order: joined back by the keys
        if distinct.height == rows.height:
            found = self._lookup(rows, group, names, geo)
        else:
            found = rows.join(
                pl.concat([distinct, self._lookup(distinct, group, names, geo)], how="horizontal"),
                on=keys,
                how="left",
                nulls_equal=True,
                maintain_order="left",
            ).drop(keys)
        fills = []
        for field in TEXT_FILLED:
            column = f"{group}.{field}"
            if column in names and f"_{field}" in found.columns:
                fills.append(fill_empty(column, pl.lit(found[f"_{field}"])))
        if f"{group}.type_id" in names:
            type_id = found["_type_id"]
            unknown = pl.col(f"{group}.type_id").is_null() | (pl.col(f"{group}.type_id") == 0)
            known = pl.lit(type_id).is_not_null()
            fills.append(
                pl.when(unknown & known)
                .then(pl.lit(type_id))
                .otherwise(pl.col(f"{group}.type_id"))
                .alias(f"{group}.type_id")
            )
            if f"{group}.type" in names:
                fills.append(
                    pl.when(unknown & known & is_empty(f"{group}.type"))
                    .then(pl.lit(found["_type"]))
                    .otherwise(pl.col(f"{group}.type"))
                    .alias(f"{group}.type")
                )
        return frame.with_columns(fills), found["_store"].alias("store")

    def _lookup(
        self, frame: pl.DataFrame, group: str, names: set[str], geo: GeoTable
    ) -> pl.DataFrame:
        """Per row of the group's keys: the asset's (or segment's) fields and store, and
        the country of a public address, as columns `_uid`, `_name`, `_hostname`, `_zone`,
        `_type_id`, `_type`, `_store`, `_location.country`."""
        ip, store_uid = pl.col(f"{group}.ip"), pl.col("store.uid")
        keys = frame.select(
            index_of(pl.concat_str(store_uid, pl.lit("|"), ip), self._asset_by_store_ip).alias("a"),
            index_of(ip, self._asset_by_ip).alias("b"),
            _present(
                frame, f"{group}.mac", lambda c: index_of(c.str.to_lowercase(), self._asset_by_mac)
            ),
            _present(
                frame, f"{group}.uid", lambda c: index_of(c.str.to_lowercase(), self._asset_by_name)
            ),
            _present(
                frame,
                f"{group}.hostname",
                lambda c: index_of(c.str.to_lowercase(), self._asset_by_name),
            ),
            _present(
                frame,
                f"{group}.name",
                lambda c: index_of(c.str.to_lowercase(), self._asset_by_name),
            ),
            ipv4_numbers(ip).fill_null(-1).alias("number"),
        )
        asset_index = keys.select(pl.coalesce(pl.exclude("number")))[:, 0]
        numbers = keys["number"].to_numpy().astype(np.int64)
        segment = self._segments.lookup(numbers)
        segment_index = nullable_index(segment)
        given = frame["store.uid"] if "store.uid" in frame.columns else None
        asset = _same_store(gather_rows(self._assets, asset_index), given)
        seg = _same_store(gather_rows(self._segment_info, segment_index), given)
        found = [
            asset["uid"].alias("_uid"),
            asset["name"].alias("_name"),
            asset["uid"].alias("_hostname"),
            asset["zone"].fill_null(seg["zone"]).alias("_zone"),
            asset["type_id"].alias("_type_id"),
            asset["type"].alias("_type"),
            asset["store"].fill_null(seg["store"]).alias("_store"),
        ]
        if f"{group}.location.country" in names:
            owner = geo.ranges.lookup(numbers)
            owner = np.where(is_global(numbers), owner, NONE)
            codes = pl.DataFrame({"c": geo.countries}, schema={"c": pl.String})
            found.append(gather_rows(codes, nullable_index(owner))["c"].alias("_location.country"))
        return pl.DataFrame(found)


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
