"""Self-checkout session summaries, as the lane software reports them (`vigil.sco/1` JSON lines).

`{"schema": "vigil.sco/1", "ts": end, "start": ..., "store", "terminal", "session",
"trust_level": 1-6, "scans": n, "scan_seconds": s, "total": amount, "voids": n,
"scans_without_registration": n, "quantity_modifications": n, "weight_mismatches": n,
"attendant_interventions": n}`. `trust_level` is the loyalty account's standing
(1 = new or flagged, 6 = long and clean).
"""

from __future__ import annotations

import json
from typing import ClassVar

import numpy as np
import polars as pl

from vigil.estate import Store
from vigil.estate.types import AssetKind
from vigil.sim.sources.pos import iso
from vigil.sim.types import JsonLinesSource, sources
from vigil.sim.world import World

TRUST_WEIGHTS = np.array([0.08, 0.1, 0.14, 0.2, 0.24, 0.24])


def session_line(
    ts: float,
    start: float,
    store: str,
    terminal: str,
    session: str,
    trust: int,
    scans: int,
    total: float,
    voids: int,
    unregistered: int,
    modifications: int,
    mismatches: int,
    interventions: int,
) -> str:
    return json.dumps(
        {
            "schema": "vigil.sco/1",
            "ts": iso(ts),
            "start": iso(start),
            "store": store,
            "terminal": terminal,
            "session": session,
            "trust_level": trust,
            "scans": scans,
            "scan_seconds": round(ts - start, 1),
            "total": total,
            "voids": voids,
            "scans_without_registration": unregistered,
            "quantity_modifications": modifications,
            "weight_mismatches": mismatches,
            "attendant_interventions": interventions,
        },
        separators=(",", ":"),
    )


@sources.register("sco")
class SelfCheckoutSource(JsonLinesSource):
    name: ClassVar[str] = "sco"
    path: ClassVar[str] = "sco/sessions.jsonl"

    def generate(self, world: World, store: Store) -> pl.DataFrame:
        rng = world.rng("sco", store.uid)
        lanes = world.assets(store, AssetKind.SELF_CHECKOUT)
        if not lanes:
            return self.lines([])
        starts = world.arrivals(store, per_hour=6.0 * len(lanes), rng=rng)
        n = len(starts)
        scans = rng.poisson(11, n) + 1
        seconds = scans * rng.uniform(4, 16, n) + rng.uniform(20, 60, n)
        trust = rng.choice(np.arange(1, 7), n, p=TRUST_WEIGHTS)
        totals = np.round(scans * rng.lognormal(1.8, 0.5, n), 2)
        voids, unregistered = rng.poisson(0.4, n), rng.poisson(0.5, n)
        modifications, mismatches = rng.poisson(0.3, n), rng.poisson(0.15, n)
        interventions = rng.binomial(1, 0.08, n) + (mismatches > 1)
        terminals = rng.integers(0, len(lanes), n)
        lines = [
            session_line(
                float(s + d),
                float(s),
                store.uid,
                lanes[int(t)].uid,
                f"{store.uid}-{i:07d}",
                int(tr),
                int(sc),
                float(to),
                int(v),
                int(u),
                int(m),
                int(w),
                int(a),
            )
            for i, (s, d, t, tr, sc, to, v, u, m, w, a) in enumerate(
                zip(
                    starts,
                    seconds,
                    terminals,
                    trust,
                    scans,
                    totals,
                    voids,
                    unregistered,
                    modifications,
                    mismatches,
                    interventions,
                    strict=True,
                )
            )
        ]
        ends = (starts + seconds).tolist()
        return self.lines(list(zip(ends, [store.uid] * n, lines, strict=True)))
