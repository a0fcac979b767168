"""Ingest: raw bytes to columnar batches in the lake, events/s on one core, per format.

Each format's file comes from the simulator (the formats real equipment writes).
Vigil's figure is `import_file`: read, frame, mask card numbers, parse, store
Parquet partitions and count, into a fresh lake and database. The reference is
DuckDB reading the same file with its own `read_json` / `read_csv` and writing
one Parquet file (`COPY ... TO`), with one thread. Formats DuckDB has no reader
for (syslog key=value, combined log, RADIUS) have no reference.

Every measurement runs in its own process pinned to one core (`taskset -c 0`), so
neither polars' nor DuckDB's thread pools can use the second core.

The label gives the mean record size: events per second mean little without it
(an nfdump CSV line is about 350 bytes, a Zeek dns.log line about 180).

Each format gives two figures: events per second of wall-clock time, and events
per second of the process's CPU time (`time.process_time`, all its threads), for
Vigil and for DuckDB alike. On a shared machine the wall-clock figure moves with
everyone else's load; the CPU-time figure, and its ratio, much less.

The figure is throughput, so one-time start-up costs are kept out of it, for
Vigil and DuckDB alike: before either clock starts, the worker imports the first
16 MB of the same file (two of the importer's 8 MB chunks) into a throw-away lake,
and DuckDB copies that same head to a throw-away Parquet file. That pays for lazy
imports (pyarrow imports pandas the first time it converts a Python value, about
half a second of CPU), first-use set-up, and the growth of the process's memory
to its working size, all of which a running ingestor pays once. With a warm-up of
only the first 256 KB, the measured pass of NetFlow CSV ran about a fifth slower
than the passes after it in the same process (147,000 against 176,000-190,000
events per CPU second). `VIGIL_BENCH_COLD=1` measures without the warm-up.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.types import Figure

# format, file in the simulator's output, DuckDB reader for the reference (or None)
FORMATS: list[tuple[str, str, str | None]] = [
    ("netflow_csv", "netflow/flows.csv", "read_csv('{path}', header = true)"),
    (
        "zeek_conn",
        "zeek/conn.log",
        "read_csv('{path}', delim = '\t', comment = '#', header = false)",
    ),
    (
        "iot_mqtt",
        "iot/mqtt.jsonl",
        "read_json('{path}', format = 'newline_delimited', sample_size = -1)",
    ),
    (
        "vigil_pos",
        "pos/transactions.jsonl",
        "read_json('{path}', format = 'newline_delimited', sample_size = -1)",
    ),
    (
        "osquery",
        "endpoint/osquery.jsonl",
        "read_json('{path}', format = 'newline_delimited', sample_size = -1)",
    ),
    ("zeek_dns", "zeek/dns.log", "read_csv('{path}', delim = '\t', comment = '#', header = false)"),
    ("fortigate", "firewall/fortigate.log", None),
    ("web_access", "web/access.log", None),
    ("radius_detail", "wifi/radius-detail.log", None),
]
MAX_BYTES = 200 * 1024 * 1024
WARM_UP_BYTES = 16 * 1024 * 1024
"""How much of the file the untimed warm-up imports: two 8 MB chunks (`CHUNK_BYTES`)."""


def _simulate(folder: Path, stores: int) -> None:
    from vigil.sim import World, generate_estate, scenarios, simulate

    estate = generate_estate(stores, seed=11)
    world = World(estate, datetime(2026, 11, 23, 8, tzinfo=UTC), days=1, seed=11)
    simulate(world, [scenarios.get(name)() for name in scenarios.names()], folder)


def _sized(source: Path, events: int, folder: Path) -> tuple[Path, int]:
    """The source file repeated (header kept once) up to about `events` records."""
    lines = source.read_bytes()
    count = lines.count(b"\n\n") if source.name == "radius-detail.log" else lines.count(b"\n")
    copies = max(1, min(events // max(count, 1), MAX_BYTES // max(len(lines), 1)))
    target = folder / f"x{copies}-{source.name}"
    if source.suffix == ".csv" and copies > 1:
        header, _, body = lines.partition(b"\n")
        target.write_bytes(header + b"\n" + body * copies)
    else:
        target.write_bytes(lines * copies)
    return target, count * copies


def _worker(format_name: str, path: str, reader: str | None) -> dict[str, float]:
    """One measurement, in this (pinned) process: Vigil, then the DuckDB reference."""
    import duckdb

    from vigil.ingest import Ingestor, import_file, parsers
    from vigil.store import Database, Lake

    scratch = Path(tempfile.mkdtemp(prefix="vigil-ingest-bench-"))
    try:
        sample = None
        if os.environ.get("VIGIL_BENCH_COLD") != "1":
            sample = _warm_up(format_name, Path(path), scratch / "warm-up")
        database = Database.open(f"sqlite:///{scratch / 'vigil.db'}")
        ingestor = Ingestor(Lake(scratch / "lake"), database)
        start, start_cpu = time.perf_counter(), time.process_time()
        report = import_file(Path(path), parsers.get(format_name)(), ingestor)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
        database.close()
        out: dict[str, float] = {
            "events": report.total_events,
            "records": report.records,
            "rejected": report.rejected,
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
        }
        if reader is not None:
            connection = duckdb.connect(config={"threads": 1})
            copy = "COPY (SELECT * FROM {source}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
            if sample is not None:
                warm = reader.format(path=sample)
                connection.execute(copy.format(source=warm, target=scratch / "warm-up.parquet"))
            target = scratch / "duckdb.parquet"
            start, start_cpu = time.perf_counter(), time.process_time()
            connection.execute(copy.format(source=reader.format(path=path), target=target))
            out["reference_seconds"] = time.perf_counter() - start
            out["reference_cpu_seconds"] = time.process_time() - start_cpu
            out["reference_rows"] = connection.execute(
                f"SELECT count(*) FROM '{target}'"
            ).fetchone()[0]  # type: ignore[index]
            connection.close()
        return out
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _warm_up(format_name: str, path: Path, folder: Path) -> Path:
    """Import the head of the file into a throw-away lake, untimed (see the module doc);
    the head's file, for DuckDB's warm-up."""
    from vigil.ingest import Ingestor, import_file, parsers
    from vigil.ingest.framing import whole_records
    from vigil.store import Database, Lake

    folder.mkdir()
    parser = parsers.get(format_name)()
    with path.open("rb") as handle:
        head, _ = whole_records(handle.read(WARM_UP_BYTES), parser.framing, final=False)
    sample = folder / path.name
    sample.write_bytes(head)
    database = Database.open(f"sqlite:///{folder / 'vigil.db'}")
    import_file(sample, parser, Ingestor(Lake(folder / "lake"), database))
    database.close()
    return sample


def _measure(format_name: str, path: Path, reader: str | None) -> dict[str, float]:
    command = [sys.executable, "-m", "bench.ingest", format_name, str(path), reader or ""]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=os.environ)
    if done.returncode != 0:
        raise RuntimeError(f"{format_name}: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(events: int, repeat: int) -> list[Figure]:
    from vigil.ingest import parsers

    folder = Path(tempfile.mkdtemp(prefix="vigil-ingest-data-"))
    figures = []
    try:
        _simulate(folder / "sim", stores=2)
        for format_name, relative, reader in FORMATS:
            if format_name not in parsers.names():
                continue
            path, _ = _sized(folder / "sim" / relative, events, folder)
            runs = [_measure(format_name, path, reader) for _ in range(repeat)]
            first = runs[0]
            size = path.stat().st_size / max(first["records"], 1)
            label = (
                f"{format_name}: {int(first['events']):,} events ({size:,.0f} B per record), "
                f"{int(first['rejected'])} rejected"
            )
            for clock, suffix in (("seconds", ""), ("cpu_seconds", " (CPU time)")):
                reference = None
                if reader is not None:
                    reference = statistics.median(
                        r["reference_rows"] / r[f"reference_{clock}"] for r in runs
                    )
                figures.append(
                    Figure(
                        label + suffix,
                        statistics.median(r["events"] / r[clock] for r in runs),
                        "events/s",
                        reference,
                        "DuckDB read + COPY to Parquet, 1 thread" if reader else None,
                    )
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


if __name__ == "__main__":
    name, file, duck = sys.argv[1], sys.argv[2], sys.argv[3] or None
    print(json.dumps(_worker(name, file, duck)))
