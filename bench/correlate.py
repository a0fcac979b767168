"""Correlation: alerts-to-incidents compression on the simulator, and the correlator's throughput.

The alerts are the evaluation's: `STORES` stores, a benign warm-up day, then one
day with every scenario that fits, simulated, ingested (the estate's
enrichment) into a temporary lake and replayed through the full retail pack.
The evaluated day's alerts are folded by a fresh `Correlator` with the estate:

- compression: alerts per incident, overall and per scenario (alerts matched to
  the ground truth as `vigil eval` matches them; `false` for the rest), printed
  as a table; the figure is how many fewer items an analyst reads (incidents
  instead of alerts), in percent;
- throughput: the same alerts in `COPIES` copies (each shifted by a week and
  moved to other store uids, so they fold apart) through `Correlator.update` in
  batches of `BATCH`, alerts per second.

`VIGIL_BENCH_CORRELATE_DIR` keeps the simulated lake between runs.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from bench.types import Figure
from vigil.correlate import Correlator, compress
from vigil.detect.types import Alert
from vigil.estate import Estate

STORES = 4
SEED = 7
START = datetime(2026, 11, 23, 8, tzinfo=UTC)
COPIES = 100
BATCH = 1_000


def _simulate(folder: Path) -> None:
    """Warm-up and evaluated day, simulated and ingested into `folder / 'lake'`."""
    from vigil.ingest import Ingestor, import_path
    from vigil.ingest.enrich import Enricher
    from vigil.sim import SimError, World, generate_estate, scenarios, simulate
    from vigil.store.database import Database, sqlite_url
    from vigil.store.lake import Lake

    estate = generate_estate(STORES, SEED)
    simulate(World(estate, START - timedelta(days=1), 1, SEED + 1), [], folder / "warmup")
    world = World(estate, START, 1, SEED)
    chosen = []
    for name in scenarios.names():
        scenario = scenarios.get(name)()
        try:
            scenario.inject(world)  # a scenario the day or estate has no room for is left out
        except SimError:
            continue
        chosen.append(scenario)
    simulate(world, chosen, folder / "eval")
    database = Database.open(sqlite_url(folder))
    try:
        ingestor = Ingestor(Lake(folder / "lake"), database, Enricher(estate))
        for part in ("warmup", "eval"):
            import_path(folder / part, ingestor)
    finally:
        database.close()


def _alerts(folder: Path) -> tuple[Estate, list[Alert], dict[str, str]]:
    """The evaluated day's alerts, the estate, and each matched alert's scenario."""
    from vigil.detect.engine import Engine
    from vigil.detect.loader import load_pack
    from vigil.eval.replay import replay
    from vigil.eval.score import match_alerts, read_truth
    from vigil.sim import generate_estate
    from vigil.store.lake import Lake

    estate = generate_estate(STORES, SEED)
    lake = Lake(folder / "lake")
    engine = Engine(load_pack(), estate)
    replay(lake, engine, START - timedelta(days=1), START)
    alerts = replay(lake, engine, START, START + timedelta(days=1)).alerts
    truth = read_truth(folder / "eval" / "truth.jsonl")
    scenario = {r.uid: r.scenario for r in truth if r.label in ("attack", "fraud")}
    labels = {}
    for alert, uids in zip(alerts, match_alerts(alerts, truth), strict=True):
        matched = sorted(scenario[uid] for uid in uids if uid in scenario)
        if matched:
            labels[alert.uid] = matched[0]
    return estate, alerts, labels


def _copies(alerts: list[Alert]) -> list[Alert]:
    """`COPIES` shifted copies: a week apart, store uids renamed, so they never fold together."""
    out = []
    for copy in range(COPIES):
        shift = timedelta(weeks=copy)
        for alert in alerts:
            entities = {
                kind: f"{value}~{copy}" if kind in ("store", "device", "cashier") else value
                for kind, value in alert.entities.items()
            }
            out.append(
                dataclasses.replace(
                    alert,
                    time=alert.time + shift,
                    first_seen=alert.first_seen + shift,
                    entities=entities,
                    uid=f"{alert.uid}~{copy}",
                )
            )
    return out


def _throughput(alerts: list[Alert], estate: Estate) -> float:
    correlator = Correlator(estate=estate)
    start = time.perf_counter()
    for index in range(0, len(alerts), BATCH):
        correlator.update(alerts[index : index + BATCH])
    return len(alerts) / (time.perf_counter() - start)


def run(events: int, repeat: int) -> list[Figure]:
    del events  # the alerts are the simulated estate's day, whatever the size asked
    kept = os.environ.get("VIGIL_BENCH_CORRELATE_DIR")
    folder = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="vigil-correlate-bench-"))
    try:
        if not (folder / "lake").exists():
            _simulate(folder)
        estate, alerts, labels = _alerts(folder)
    finally:
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)
    result = compress(alerts, estate=estate, labels=labels)
    Console().print(result.table(), highlight=False)
    scaled = _copies(alerts)
    rates = [_throughput(scaled, estate) for _ in range(repeat)]
    return [
        Figure(
            f"compression: {result.alerts:,} alerts -> {result.incidents:,} incidents, "
            f"{result.ratio:.2f} alerts/incident ({STORES} stores, 1 day, every scenario)",
            100 * (1 - result.incidents / result.alerts) if result.alerts else 0.0,
            "% fewer to read",
        ),
        Figure(
            f"correlator: {len(scaled):,} alerts in batches of {BATCH:,}",
            statistics.median(rates),
            "alerts/s",
        ),
    ]
