"""Simulator: raw events generated and written per second, and bytes per event.

`--events` is read as a size hint: the run covers enough stores for one day to
produce about that many events (about 120,000 per store-day).
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.types import Figure
from vigil.sim import World, generate_estate, scenarios, simulate

PER_STORE_DAY = 120_000


def run(events: int, repeat: int) -> list[Figure]:
    stores = max(1, events // PER_STORE_DAY)
    estate = generate_estate(stores, seed=7)
    world = World(estate, datetime(2026, 11, 23, 8, tzinfo=UTC), days=1, seed=7)
    chosen = [scenarios.get(name)() for name in scenarios.names()]
    best = None
    for _ in range(repeat):
        out = Path(tempfile.mkdtemp(prefix="vigil-sim-bench-"))
        try:
            result = simulate(world, chosen, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)
        if best is None or result.seconds < best.seconds:
            best = result
    if best is None:
        raise ValueError("repeat must be at least 1")
    figures = [
        Figure(f"all sources ({stores} stores x 1 day)", best.events / best.seconds, "events/s")
    ]
    total_bytes = sum(best.bytes.values())
    figures.append(Figure("bytes per event, all sources", total_bytes / best.events, "bytes"))
    for name in sorted(best.counts):
        if best.counts[name]:
            figures.append(Figure(f"{name}: events", best.counts[name], "events"))
            figures.append(
                Figure(f"{name}: bytes per event", best.bytes[name] / best.counts[name], "bytes")
            )
    return figures
