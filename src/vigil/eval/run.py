"""End-to-end evaluation: simulate, ingest, replay through detection, score against the truth.

The estate's history starts with a benign-only warm-up (no scenarios), so that
learning rules and baselines have something to learn from; its alerts are not
scored. The evaluated span follows it immediately, with every scenario
injected. Both go through the real ingest (raw files, parsers, the estate's
enrichment) into one lake, and through one engine in event-time order.

>>> report = run_eval(workdir=Path("eval-work"), stores=4, days=1)  # doctest: +SKIP
>>> print(report.table())                                            # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.correlate.compression import FALSE, compress
from vigil.detect.engine import Engine
from vigil.detect.loader import load_pack
from vigil.detect.rules.base import Rule
from vigil.detect.types import Alert
from vigil.estate import Estate
from vigil.eval.drill import drill
from vigil.eval.replay import ReplayProgress, ReplayResult, replay
from vigil.eval.report import EvalProgress, EvalReport, EvalSetup, PhaseTiming
from vigil.eval.score import DETECTABLE, match_alerts, read_truth, score_alerts
from vigil.eval.workdir import fresh_folders, ingest_runs, same_run
from vigil.sim import (
    Scenario,
    ScenarioParams,
    SimError,
    TruthRecord,
    World,
    generate_estate,
    scenarios,
    simulate,
)
from vigil.store.lake import Lake

DEFAULT_START = datetime(2026, 11, 23, 8, tzinfo=UTC)
"""Start of the evaluated span (the Monday before Black Friday); the warm-up ends here."""
WARMUP_SEED_OFFSET = 1
"""The warm-up's world is seeded apart, so its noise is not the evaluated span's again."""


def run_eval(
    *,
    stores: int = 20,
    days: float = 2.0,
    seed: int = 7,
    warmup_days: float = 1.0,
    rules: Sequence[Rule] | None = None,
    workdir: Path,
    progress: Callable[[EvalProgress], None] | None = None,
    start: datetime = DEFAULT_START,
    reuse: bool = False,
    instances: int = 1,
) -> EvalReport:
    """Simulate `stores` stores for `warmup_days` + `days`, detect, score the last `days`.

    `rules` default to the shipped retail pack (fresh state). `workdir` receives
    the simulated telemetry (`warmup/`, `eval/`), the lake and the database;
    the folders this function writes are emptied first. With `reuse`, a workdir
    a run with the same stores, days, warm-up, seed and start left is detected and
    scored again without simulating and ingesting (for tuning rules). `instances`:
    how many times each scenario strikes in the evaluated span, each with its own
    store, time and actors.
    """
    notify = progress or (lambda _: None)
    rules = list(rules) if rules is not None else load_pack()
    estate = generate_estate(stores, seed)
    warmup_start = start - timedelta(days=warmup_days)
    end = start + timedelta(days=days)
    if reuse and same_run(workdir, estate, seed, warmup_start, end, instances):
        setup = EvalSetup(stores, days, warmup_days, seed, start, len(rules), instances)
        known = read_truth(workdir / "eval" / "truth.jsonl")
        return _detect_and_score(
            setup, rules, estate, Lake(workdir / "lake"), known, [], notify, workdir
        )
    folders = fresh_folders(workdir)
    timings: list[PhaseTiming] = []

    clock = time.perf_counter()
    chosen = [
        scenarios.get(name)(ScenarioParams(instance=instance))
        for name in scenarios.names()
        for instance in range(instances)
    ]
    sim_events = 0
    truth: list[TruthRecord] = []
    if warmup_days > 0:
        notify(EvalProgress("sim", 0, 2))
        world = World(estate, warmup_start, warmup_days, seed + WARMUP_SEED_OFFSET)
        sim_events += simulate(world, [], folders["warmup"]).events
    notify(EvalProgress("sim", 1, 2))
    world = World(estate, start, days, seed)
    chosen, unfit = _fitting(world, chosen)
    result = simulate(world, chosen, folders["eval"])
    sim_events += result.events
    truth = result.truth
    notify(EvalProgress("sim", 2, 2))
    timings.append(PhaseTiming("sim", time.perf_counter() - clock, sim_events))

    clock = time.perf_counter()
    lake = Lake(folders["lake"])
    stored, rejected, skipped = ingest_runs(estate, lake, workdir, folders, warmup_days > 0, notify)
    timings.append(PhaseTiming("ingest", time.perf_counter() - clock, stored))

    report = _detect_and_score(
        EvalSetup(stores, days, warmup_days, seed, start, len(rules), instances),
        rules,
        estate,
        lake,
        truth,
        timings,
        notify,
        workdir,
    )
    report.skipped_files = skipped
    report.rejected_records = rejected
    report.unfit_scenarios = unfit
    return report


def _detect_and_score(
    setup: EvalSetup,
    rules: Sequence[Rule],
    estate: Estate,
    lake: Lake,
    truth: list[TruthRecord],
    timings: list[PhaseTiming],
    notify: Callable[[EvalProgress], None],
    workdir: Path,
) -> EvalReport:
    """Replay the warm-up, then the evaluated span, through one engine; score the latter;
    fold the scored alerts into incidents and run the playbooks on them."""
    start = setup.start
    clock = time.perf_counter()
    engine = Engine(rules, estate)
    warm = ReplayResult()
    if setup.warmup_days > 0:
        warmup_start = start - timedelta(days=setup.warmup_days)
        warm = replay(lake, engine, warmup_start, start, progress=_relay(notify, "detect warm-up"))
    end = start + timedelta(days=setup.days)
    scored = replay(lake, engine, start, end, progress=_relay(notify, "detect"))
    timings.append(PhaseTiming("detect", time.perf_counter() - clock, warm.events + scored.events))

    clock = time.perf_counter()
    score = score_alerts(scored.alerts, truth, setup.stores * setup.days)
    timings.append(PhaseTiming("score", time.perf_counter() - clock, len(scored.alerts)))
    clock = time.perf_counter()
    folded = compress(scored.alerts, estate=estate, labels=_labels(scored.alerts, truth))
    timings.append(PhaseTiming("correlate", time.perf_counter() - clock, len(scored.alerts)))
    clock = time.perf_counter()
    response = drill(scored.alerts, estate, workdir / "respond")
    timings.append(PhaseTiming("respond", time.perf_counter() - clock, len(scored.alerts)))
    return EvalReport(
        setup=setup,
        score=score,
        timings=timings,
        warmup_alerts=len(warm.alerts),
        late_events=warm.late_count + scored.late_count,
        rule_errors={
            uid: health.last_error or "" for uid, health in engine.health.items() if health.errors
        },
        compression=folded,
        response=response,
    )


def _labels(alerts: Sequence[Alert], truth: Sequence[TruthRecord]) -> dict[str, str]:
    """Each alert's group for compression: the scenario of the first attack or fraud
    instance it matched, else `false`."""
    detectable = {r.uid: r.scenario for r in truth if r.label in DETECTABLE}
    labels = {}
    for alert, uids in zip(alerts, match_alerts(alerts, truth), strict=True):
        hits = [detectable[uid] for uid in uids if uid in detectable]
        labels[alert.uid] = hits[0] if hits else FALSE
    return labels


def _fitting(world: World, chosen: list[Scenario]) -> tuple[list[Scenario], dict[str, str]]:
    """The scenarios that fit the simulated span and estate, and why the others do not.

    A short span or a small estate leaves some scenarios nowhere to happen (no
    trading hours after the crew's start); they are left out and reported,
    not allowed to stop the evaluation.
    """
    fitting, unfit = [], {}
    for scenario in chosen:
        try:
            scenario.inject(world)
        except SimError as error:
            unfit[scenario.name] = str(error)
        else:
            fitting.append(scenario)
    return fitting, unfit


def _relay(notify: Callable[[EvalProgress], None], phase: str) -> Callable[[ReplayProgress], None]:
    return lambda step: notify(EvalProgress(phase, step.windows_done, step.windows_total))
