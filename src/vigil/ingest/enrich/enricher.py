"""The enricher: one call per batch, estate context and country filled where the source was silent.

Context decides priority (DESIGN.md, decision 5), so every batch is given its
context before it reaches the lake. Endpoints are matched to assets and segments
(`assets.py`), users to identities (`identities.py`), public addresses to a
country (`geo.py`); this module finds the groups a batch has, runs those lookups
and decides the event's store: from the source endpoint, then the device (and
other endpoint groups), then the destination, then the user's home store (an
identity that works at exactly one store); `store.name` and `store.region_uid`
follow from the store.
"""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from vigil.estate.types import Estate
from vigil.events import EventBatch
from vigil.ingest.enrich.assets import ENDPOINT_FIELDS, AssetIndex
from vigil.ingest.enrich.columns import fill_empty, gather_rows, index_of, unique_keys
from vigil.ingest.enrich.geo import GeoTable
from vigil.ingest.enrich.identities import IdentityIndex


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
        self._store_index = unique_keys((s.uid, i) for i, s in enumerate(stores))
        self.assets = AssetIndex(estate.assets, stores)
        self.identities = IdentityIndex(estate.identities)

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
        # Only what the lookups read or fill travels to polars and back.
        endpoint_fields = {f"{group}.{field}" for group in endpoints for field in ENDPOINT_FIELDS}
        wanted = [
            name
            for name in batch.table.column_names
            if name.startswith("store.")
            or name in endpoint_fields
            or any(name.startswith(f"{group}.") for group in users)
        ]
        original = pl.from_arrow(batch.table.select(wanted))
        if not isinstance(original, pl.DataFrame):  # pragma: no cover - a table gives a frame
            raise TypeError("expected a data frame")
        frame = original
        stores: list[pl.Series] = []
        ip_owner: dict[str, pl.Series] = {}
        for group in endpoints:
            frame, store = self.assets.endpoint(frame, group, names, self.geo)
            ip_owner[group] = store
        homes = []
        for group in users:
            frame, home = self.identities.user(frame, group, names)
            homes.append(home)
        stores = [ip_owner[g] for g in endpoints if g != "dst_endpoint"]
        stores += [ip_owner[g] for g in endpoints if g == "dst_endpoint"] + homes
        frame = self._store(frame, stores, names)
        return EventBatch(batch.event_class, _replace(batch.table, frame, original))

    def _store(
        self, frame: pl.DataFrame, candidates: list[pl.Series], names: set[str]
    ) -> pl.DataFrame:
        if "store.uid" not in names:
            return frame
        if candidates:
            frame = frame.with_columns(
                fill_empty("store.uid", pl.coalesce([pl.lit(c) for c in candidates]))
            )
        index = frame.select(index_of(pl.col("store.uid"), self._store_index))[:, 0]
        store = gather_rows(self._stores, index)
        return frame.with_columns(
            fill_empty(f"store.{field}", pl.lit(store[field]))
            for field in ("name", "region_uid")
            if f"store.{field}" in names
        )


def _endpoint_order(group: str) -> tuple[int, str]:
    rank = {"src_endpoint": 0, "device": 1, "dst_endpoint": 9}
    return rank.get(group, 5), group


def _replace(table: pa.Table, frame: pl.DataFrame, original: pl.DataFrame) -> pa.Table:
    """The table with the frame's changed columns put back, in the table's own types."""
    for name in frame.columns:
        if frame[name].equals(original[name]):
            continue  # nothing filled: the table keeps its own column
        position = table.schema.get_field_index(name)
        field = table.schema.field(position)
        table = table.set_column(position, field, frame[name].to_arrow().cast(field.type))
    return table
