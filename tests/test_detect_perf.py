"""The engine's shortcuts (column pruning, prefilters, idle rules) change no alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.loader import load_pack
from vigil.detect.rules.base import EVIDENCE_COLUMNS, Rule, RuleSpec, expr_columns
from vigil.detect.types import TIME, Alert
from vigil.eval.replay import replay, window_frame
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.sim import World, generate_estate, scenarios, simulate
from vigil.sim.types import SimError
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

START = datetime(2026, 11, 23, 8, tzinfo=UTC)


class EveryColumn(Rule):
    """A kind that declares nothing: it must still see every column and context column."""

    def __init__(self) -> None:
        spec = RuleSpec(
            id="test.every",
            title="t",
            kind="every",
            use_case="t",
            severity="low",
            explanation="e",
        )
        super().__init__(spec, "<test>")
        self.seen: list[list[str]] = []

    @property
    def classes(self) -> tuple[str, ...]:
        return ("authentication",)

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.seen.append(frame.columns)
        return []


def test_a_kind_without_columns_gets_the_whole_frame() -> None:
    rule = EveryColumn()
    engine = Engine([rule])
    assert rule.columns("authentication") is None
    assert engine.columns("authentication") is None
    frame = pl.DataFrame(
        {"time": [START], "store.uid": ["001"], "extra": [1]},
        schema={"time": pl.Datetime("ms", "UTC"), "store.uid": pl.String, "extra": pl.Int64},
    )
    engine.process("authentication", frame)
    assert rule.seen
    assert {"extra", "ctx.open", "ctx.local_hour", "ctx.peak"} <= set(rule.seen[0])


def test_expr_columns_names_what_a_filter_reads() -> None:
    assert expr_columns((pl.col("a") == 1) & pl.col("b").is_null()) == {"a", "b"}
    assert expr_columns(pl.lit(value=True)) == set()
    assert expr_columns(pl.all().is_null()) is None


def test_pack_rules_declare_their_columns() -> None:
    for rule in load_pack():
        for name in rule.classes:
            columns = rule.columns(name)
            if columns is None:  # a kind that reads everything is allowed, just slower
                continue
            assert set(EVIDENCE_COLUMNS) <= columns
            where = rule.prefilter(name)
            if where is not None:
                assert (expr_columns(where) or set()) <= columns, rule.meta.uid


def signature(alerts: list[Alert]) -> list[tuple[object, ...]]:
    return sorted(
        (
            alert.uid,
            alert.rule.uid,
            alert.time,
            alert.first_seen,
            tuple(sorted(alert.entities.items())),
            alert.explanation,
            alert.evidence.height,
        )
        for alert in alerts
    )


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("perf")
    estate = generate_estate(1, 5)
    world = World(estate, START, 1, 5)
    chosen = []
    for name in scenarios.names():
        scenario = scenarios.get(name)()
        try:
            scenario.inject(world)
        except SimError:
            continue
        chosen.append(scenario)
    simulate(world, chosen, root / "sim")
    database = Database.open(sqlite_url(root))
    try:
        import_path(root / "sim", Ingestor(Lake(root / "lake"), database, Enricher(estate)))
    finally:
        database.close()
    return root / "lake", estate


def _unpruned(engine_rules: list[Rule]) -> list[Rule]:
    """The rules, told to read every column and take every row (the engine's old way)."""
    for rule in engine_rules:
        rule.columns = lambda event_class: None  # type: ignore[method-assign]
        rule.prefilter = lambda event_class: None  # type: ignore[method-assign]
    return engine_rules


@pytest.mark.slow
def test_pruned_frames_give_the_same_alerts_as_full_frames(attacked: tuple[Path, object]) -> None:
    lake_dir, estate = attacked
    connection = Lake(lake_dir).connect()
    # Half-hour batches (and a lateness to match): a sixth of the calls of 5-minute ones.
    lateness = timedelta(minutes=30)
    fast = Engine(load_pack(), estate, lateness=lateness)  # type: ignore[arg-type]
    full = Engine(_unpruned(load_pack()), estate, lateness=lateness)  # type: ignore[arg-type]
    try:
        frames = {
            name: window_frame(
                connection, name, START - timedelta(days=1), START + timedelta(days=2)
            )
            for name in fast.classes
        }
    finally:
        connection.close()
    step = lateness
    lo = min(f.get_column(TIME).min() for f in frames.values() if f.height)  # type: ignore[type-var]
    hi = max(f.get_column(TIME).max() for f in frames.values() if f.height)  # type: ignore[type-var]
    assert isinstance(lo, datetime)
    assert isinstance(hi, datetime)
    found_fast: list[Alert] = []
    found_full: list[Alert] = []
    while lo <= hi:
        for name in sorted(frames):
            part = frames[name].filter((pl.col(TIME) >= lo) & (pl.col(TIME) < lo + step))
            found_fast += fast.process(name, part).alerts
            found_full += full.process(name, part).alerts
        lo += step
    assert found_full, "the scenarios raise alerts"
    assert signature(found_fast) == signature(found_full)
    for alert in found_fast:
        assert set(alert.evidence.columns) <= set(frames[alert.event_class].columns) | {
            *frames["door_access"].columns,
            *frames["pos_transaction"].columns,
        }
    # replay reads only the columns the rules read, and raises the alerts a full read does
    narrow = replay(Lake(lake_dir), Engine(load_pack(), estate))  # type: ignore[arg-type]
    wide = replay(Lake(lake_dir), Engine(_unpruned(load_pack()), estate))  # type: ignore[arg-type]
    assert {a.uid for a in narrow.alerts} == {a.uid for a in wide.alerts}
