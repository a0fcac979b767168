"""Event lake: batch append and query throughput, against plain pyarrow / DuckDB.

Append: `Lake.append` (partitioning by day and store, zstd Parquet, atomic rename)
against `pyarrow.parquet.write_table` of the same batches into one folder.
Query: `Lake.query` (sandboxed connection, class views) against DuckDB reading
the same Parquet files directly.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from bench.types import Figure, median_seconds
from vigil.events import EventBatch, NetworkActivity
from vigil.store.lake import Lake

BATCH = 50_000
STORES = [f"{n:03d}" for n in range(1, 41)]
START_MS = 1_795_000_000_000


def synthetic_flows(count: int, seed: int = 7) -> list[EventBatch]:
    """Network flows spread over 40 stores and 3 days, built as columns (no models)."""
    rng = np.random.default_rng(seed)
    batches = []
    for offset in range(0, count, BATCH):
        size = min(BATCH, count - offset)
        store = rng.integers(0, len(STORES), size)
        columns = {
            "activity_id": pa.array(np.full(size, 6)),
            "time": pa.array(
                START_MS + np.sort(rng.integers(0, 3 * 86_400_000, size)),
                pa.timestamp("ms", tz="UTC"),
            ),
            "severity_id": pa.array(np.ones(size, dtype=np.int64)),
            "metadata.product.name": pa.array(["zeek"] * size),
            "src_endpoint.ip": pa.array(
                [
                    f"10.{s + 1}.11.{h}"
                    for s, h in zip(store, rng.integers(1, 250, size), strict=True)
                ]
            ),
            "src_endpoint.port": pa.array(rng.integers(1024, 65535, size)),
            "dst_endpoint.ip": pa.array([f"198.51.100.{h}" for h in rng.integers(1, 250, size)]),
            "dst_endpoint.port": pa.array(rng.choice([53, 443, 8443, 123], size)),
            "traffic.bytes_out": pa.array(rng.lognormal(8, 2, size).astype(np.int64)),
            "traffic.bytes_in": pa.array(rng.lognormal(9, 2, size).astype(np.int64)),
            "store.uid": pa.array([STORES[s] for s in store]),
        }
        batches.append(EventBatch(NetworkActivity, pa.table(columns)))
    return batches


QUERIES = {
    "aggregate by store": 'SELECT store, count(*), sum("traffic.bytes_out") FROM {source} GROUP BY store',
    "filter port 8443 to top 10": 'SELECT "src_endpoint.ip", "traffic.bytes_out" FROM {source} WHERE "dst_endpoint.port" = 8443 ORDER BY 2 DESC LIMIT 10',
}


def run(events: int, repeat: int) -> list[Figure]:
    batches = synthetic_flows(events)
    workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    try:
        lake_dir = workdir / "lake"
        flat_dir = workdir / "flat"

        def reset() -> None:
            shutil.rmtree(lake_dir, ignore_errors=True)
            shutil.rmtree(flat_dir, ignore_errors=True)
            flat_dir.mkdir(parents=True)

        def append_lake() -> None:
            lake = Lake(lake_dir)
            for batch in batches:
                lake.append(batch)

        def append_flat() -> None:
            for index, batch in enumerate(batches):
                pq.write_table(batch.table, flat_dir / f"{index}.parquet", compression="zstd")

        lake_s = median_seconds(append_lake, repeat, reset)
        flat_s = median_seconds(append_flat, repeat, reset)
        append_lake()  # leave both on disk for the queries
        figures = [
            Figure(
                "append (events/s)",
                events / lake_s,
                "events/s",
                events / flat_s,
                "pyarrow write_table",
            )
        ]

        lake = Lake(lake_dir)
        pattern = str(lake_dir / "network_activity" / "*" / "*" / "*.parquet")
        direct = duckdb.connect()
        raw_source = f"read_parquet('{pattern}', hive_partitioning = true)"
        for title, sql in QUERIES.items():
            ours = median_seconds(
                lambda sql=sql: lake.query(sql.format(source="network_activity")), repeat
            )
            reference = median_seconds(
                lambda sql=sql: direct.sql(sql.format(source=raw_source)).fetchall(), repeat
            )
            figures.append(
                Figure(
                    f"query: {title}",
                    events / ours,
                    "events/s",
                    events / reference,
                    "DuckDB on the same Parquet",
                )
            )
        direct.close()
        return figures
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
