"""Incremental rule state gives the alerts of state folded on every batch (seeded oracle).

Windowed kinds keep per-batch partitions (`vigil.detect.rules.state.Partitions`),
folded only now and then; new-value rules likewise. The oracle is the old way,
every batch folded into the state (`LIMIT = 0`): over the same stream cut into
7 or 50 batches, not one alert may differ, evidence rows included. (One batch
against fifty is no oracle: a window's value is taken at the end of each batch's
touched buckets, so alert times follow the cut by design.)
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.loader import load_rules
from vigil.detect.rules import state
from vigil.detect.rules.base import class_schema
from vigil.detect.rules.state import Partitions
from vigil.detect.types import Alert

T0 = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
COMMON = """
title: t
use_case: test
severity: high
explanation: "{src_endpoint.ip} {store}"
class: authentication
"""
KINDS = {
    "threshold": "kind: threshold\ngroup_by: [src_endpoint.ip]\nwindow: 10m\n"
    "where: {status_id: 2}\ncondition: {gte: 8}\nsuppress: 5m\n",
    "threshold_all": "kind: threshold\nwindow: 2m\ncondition: {gte: 40}\nsuppress: 3m\n",
    "threshold_rearm": "kind: threshold\ngroup_by: [store.uid]\nwindow: 2m\n"
    "condition: {gte: 20}\nsuppress: 30m\nrearm: true\n",
    "threshold_escalate": "kind: threshold\ngroup_by: [store.uid]\nwindow: 2m\n"
    "condition: {gte: 20}\nsuppress: 30m\nescalate: 1.1\n",
    "velocity": "kind: velocity\ngroup_by: [store.uid]\nwindow: 5m\nper: 1m\ncondition: {gte: 4}\n",
    "distinct": "kind: distinct\ngroup_by: [src_endpoint.ip]\nfield: user.name\n"
    "window: 10m\ncondition: {gte: 5}\nsuppress: 4m\n",
    "new_value": "kind: new_value\nkey: [user.name]\nvalue: [src_endpoint.ip]\n"
    "learn_for: 20m\nforget_after: 30m\n",
    "match": "kind: match\nwhere: {status_id: 2, user.name: u1}\ngroup_by: [store.uid]\n"
    "suppress: 2m\n",
}


def _stream(seed: int, rows: int = 3_000) -> pl.DataFrame:
    """Authentication events over ~3 h: a few IPs, users and stores, bursts of failures."""
    rng = random.Random(seed)
    schema = class_schema("authentication")
    columns = [c for c in schema if not c.startswith("ctx.")]
    moment = T0
    records: list[dict[str, Any]] = []
    for _ in range(rows):
        moment += timedelta(seconds=rng.choice([0, 1, 2, 3, 5, 8, 13]))
        records.append(
            {
                "time": moment,
                "src_endpoint.ip": f"10.0.0.{rng.randrange(6)}",
                "user.name": f"u{rng.randrange(12)}",
                "status_id": rng.choice([1, 2, 2]),
                "store.uid": rng.choice(["031", "032"]),
                "activity_id": 1,
            }
        )
    data = {c: [row.get(c) for row in records] for c in columns}
    return pl.DataFrame(data, schema={c: schema[c] for c in columns})


def _signature(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return sorted(
        (
            alert.rule.uid,
            alert.time,
            alert.first_seen,
            tuple(sorted(alert.entities.items())),
            alert.explanation,
            repr(alert.evidence.drop("_b", strict=False).to_dicts()),
        )
        for alert in alerts
    )


def _run(tmp_path: Path, kind: str, stream: pl.DataFrame, parts: int) -> list[Alert]:
    path = tmp_path / f"{kind}-{parts}.yaml"
    path.write_text(f"id: test.{kind}\n{COMMON}{KINDS[kind]}")
    engine = Engine(load_rules([path]), lateness=timedelta(minutes=1))
    size = -(-stream.height // parts)
    alerts: list[Alert] = []
    for start in range(0, stream.height, size):
        alerts.extend(engine.process("authentication", stream.slice(start, size)).alerts)
    return alerts


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize(("seed", "parts"), [(1, 50), (2, 50), (1, 7)])
def test_partitioned_state_gives_the_alerts_of_state_folded_every_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, seed: int, parts: int
) -> None:
    stream = _stream(seed)
    fast = _run(tmp_path, kind, stream, parts)
    monkeypatch.setattr(state, "LIMIT", 0)
    folded = _run(tmp_path, kind, stream, parts)
    assert folded, f"{kind}: the stream should raise alerts"
    assert _signature(fast) == _signature(folded)


def test_partitions_prune_whole_batches_and_fold_past_the_limit() -> None:
    state = Partitions("t", limit=3)
    folds: list[int] = []

    def fold(rows: pl.DataFrame) -> pl.DataFrame:
        folds.append(rows.height)
        return rows.group_by("k").agg(pl.col("t").max())

    for minute in range(4):
        at = T0 + timedelta(minutes=minute)
        state.append(pl.DataFrame({"k": ["a", "b"], "t": [at, at]}), fold)
    assert folds == [8]  # the fourth batch folds the four into one
    assert state.frame().height == 2
    state.append(pl.DataFrame({"k": ["a"], "t": [T0 + timedelta(minutes=9)]}), fold)
    state.prune(T0 + timedelta(minutes=5))  # the folded partition is older: dropped whole
    assert state.frame().to_dict(as_series=False) == {
        "k": ["a"],
        "t": [T0 + timedelta(minutes=9)],
    }
    state.prune(T0 + timedelta(hours=1))
    assert state.frame().is_empty()
    assert state.frame().columns == ["k", "t"]
