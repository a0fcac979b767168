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

import io
import json
import shutil
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from vigil.correlate.compression import FALSE, Compression, compress
from vigil.detect.engine import Engine
from vigil.detect.loader import load_pack
from vigil.detect.rules.base import Rule
from vigil.detect.types import Alert
from vigil.estate import Estate
from vigil.eval.drill import Drill, drill
from vigil.eval.replay import ReplayProgress, ReplayResult, replay
from vigil.eval.score import DETECTABLE, Scorecard, match_alerts, read_truth, score_alerts
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.respond.metrics import Metric, as_record
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
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

DEFAULT_START = datetime(2026, 11, 23, 8, tzinfo=UTC)
"""Start of the evaluated span (the Monday before Black Friday); the warm-up ends here."""
WARMUP_SEED_OFFSET = 1
"""The warm-up's world is seeded apart, so its noise is not the evaluated span's again."""
NOT_TELEMETRY = frozenset({"truth.jsonl", "manifest.json"})
"""Files a simulation writes that ingest is not meant to read."""


@dataclass(frozen=True)
class EvalProgress:
    """Where an evaluation is: the phase, and how far into it (`done` of `total`)."""

    phase: str
    done: int
    total: int


@dataclass(frozen=True)
class PhaseTiming:
    """Wall time of one phase and the events it handled."""

    phase: str
    seconds: float
    events: int

    @property
    def events_per_s(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class EvalSetup:
    """What was evaluated."""

    stores: int
    days: float
    warmup_days: float
    seed: int
    start: datetime
    rules: int
    instances: int = 1
    """Times each scenario strikes in the evaluated span."""


@dataclass
class EvalReport:
    """The score, the timings and what went wrong on the way."""

    setup: EvalSetup
    score: Scorecard
    timings: list[PhaseTiming] = field(default_factory=list)
    warmup_alerts: int = 0
    late_events: int = 0
    rule_errors: dict[str, str] = field(default_factory=dict)
    """Rules that raised while running: uid -> last error."""
    skipped_files: list[str] = field(default_factory=list)
    """Simulated files ingest did not recognise (empty sources, mostly)."""
    rejected_records: int = 0
    unfit_scenarios: dict[str, str] = field(default_factory=dict)
    """Scenarios left out because the span or estate gives them nowhere to happen."""
    compression: Compression | None = None
    """The scored alerts folded into incidents, per scenario matched."""
    response: Drill | None = None
    """The scored alerts through correlation and the playbooks, every store autonomous."""

    def to_dict(self) -> dict[str, object]:
        return {
            "setup": {**asdict(self.setup), "start": self.setup.start.isoformat()},
            "score": self.score.to_dict(),
            "timings": [
                {**asdict(timing), "events_per_s": timing.events_per_s} for timing in self.timings
            ],
            "warmup_alerts": self.warmup_alerts,
            "late_events": self.late_events,
            "rule_errors": self.rule_errors,
            "skipped_files": self.skipped_files,
            "rejected_records": self.rejected_records,
            "unfit_scenarios": self.unfit_scenarios,
            "compression": None
            if self.compression is None
            else {
                "alerts": self.compression.alerts,
                "incidents": self.compression.incidents,
                "alerts_per_incident": self.compression.ratio,
                "duplicates": self.compression.duplicates,
                "merges": self.compression.merges,
                "mixed": self.compression.mixed,
            },
            "response": None
            if self.response is None
            else {
                "incidents": self.response.incidents,
                "runs": self.response.runs,
                "actions": self.response.actions,
                "waiting_for_approval": self.response.waiting,
                "failures": self.response.failures,
                "metrics": as_record(self.response.metrics),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def table(self, width: int = 140) -> str:
        """The per-scenario table and the false-alert summary, as plain text."""
        buffer = io.StringIO()
        console = Console(file=buffer, width=width, color_system=None, force_terminal=False)
        for renderable in _tables(self):
            console.print(renderable)
        return buffer.getvalue()


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
    if reuse and _same_run(workdir, estate, seed, warmup_start, end, instances):
        setup = EvalSetup(stores, days, warmup_days, seed, start, len(rules), instances)
        known = read_truth(workdir / "eval" / "truth.jsonl")
        return _detect_and_score(
            setup, rules, estate, Lake(workdir / "lake"), known, [], notify, workdir
        )
    folders = _fresh(workdir)
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
    stored, rejected, skipped = _ingest(estate, lake, workdir, folders, warmup_days > 0, notify)
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


def _same_run(
    workdir: Path, estate: Estate, seed: int, first: datetime, end: datetime, instances: int
) -> bool:
    """Whether `workdir` holds a finished run of this estate, seed, span and repetitions."""
    manifest = workdir / "eval" / "manifest.json"
    if not (workdir / "lake").is_dir() or not manifest.exists():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    warmup = workdir / "warmup" / "manifest.json"
    started = first
    if warmup.exists():
        started = datetime.fromisoformat(json.loads(warmup.read_text(encoding="utf-8"))["start"])
    return bool(
        data.get("seed") == seed
        and data.get("stores") == [store.uid for store in estate.stores]
        and datetime.fromisoformat(data["end"]) == end
        and started == first
        and max(Counter(data.get("scenarios") or [""]).values()) == instances
    )


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


def _fresh(workdir: Path) -> dict[str, Path]:
    """The run's folders under `workdir`, emptied."""
    folders = {name: workdir / name for name in ("warmup", "eval", "lake")}
    for folder in folders.values():
        if folder.exists():
            shutil.rmtree(folder)
    (workdir / "vigil.db").unlink(missing_ok=True)
    workdir.mkdir(parents=True, exist_ok=True)
    return folders


def _ingest(
    estate: Estate,
    lake: Lake,
    workdir: Path,
    folders: dict[str, Path],
    warmup: bool,
    notify: Callable[[EvalProgress], None],
) -> tuple[int, int, list[str]]:
    """Ingest the simulated files into `lake`: events stored, records rejected, files skipped."""
    database = Database.open(sqlite_url(workdir))
    stored = rejected = 0
    skipped: list[str] = []
    try:
        ingestor = Ingestor(lake, database, Enricher(estate))
        runs = [folders["warmup"], folders["eval"]] if warmup else [folders["eval"]]
        for done, folder in enumerate(runs):
            notify(EvalProgress("ingest", done, len(runs)))
            report = import_path(folder, ingestor)
            stored += report.total.total_events
            rejected += report.total.rejected
            skipped += [
                str(Path(name).relative_to(workdir))
                for name in report.unrecognised
                if Path(name).name not in NOT_TELEMETRY
            ]
        notify(EvalProgress("ingest", len(runs), len(runs)))
    finally:
        database.close()
    return stored, rejected, sorted(skipped)


def _relay(notify: Callable[[EvalProgress], None], phase: str) -> Callable[[ReplayProgress], None]:
    return lambda step: notify(EvalProgress(phase, step.windows_done, step.windows_total))


def _tables(report: EvalReport) -> list[Table | str]:
    setup, score = report.setup, report.score
    title = (
        f"{setup.stores} stores, {setup.days:g} days after {setup.warmup_days:g} warm-up, "
        f"seed {setup.seed}, {setup.instances} instance(s) of each scenario, {setup.rules} rules"
    )
    scenarios_table = Table(title=title, title_justify="left")
    for name in ("scenario", "label", "instances", "detected", "recall", "median TTD s"):
        scenarios_table.add_column(
            name, justify="left" if name in ("scenario", "label") else "right"
        )
    scenarios_table.add_column("rules", overflow="fold")
    for row in score.scenarios:
        scenarios_table.add_row(
            row.scenario,
            row.label,
            str(row.instances),
            str(row.detected),
            f"{row.recall:.0%}",
            "" if row.median_ttd_s is None else f"{row.median_ttd_s:,.0f}",
            ", ".join(row.rules),
        )
    instances = sum(row.instances for row in score.scenarios)
    detected = sum(row.detected for row in score.scenarios)
    scenarios_table.add_section()
    scenarios_table.add_row(
        "all",
        "",
        str(instances),
        str(detected),
        f"{detected / instances:.0%}" if instances else "",
        "" if score.median_ttd_s is None else f"{score.median_ttd_s:,.0f}",
        "median over every detected instance",
    )
    summary = (
        f"Alerts: {score.alerts:,}; false: {score.false_alerts:,} "
        f"({score.false_per_store_day:.2f} per store per day over {score.store_days:g} store-days); "
        f"warm-up alerts (not scored): {report.warmup_alerts:,}; late events: {report.late_events:,}."
    )
    rules_table = Table(
        "rule",
        "alerts",
        "false",
        "false / store-day",
        title="False alerts per rule",
        title_justify="left",
    )
    for rule in score.rules:
        if rule.false_alerts:
            rules_table.add_row(
                rule.rule, str(rule.alerts), str(rule.false_alerts), f"{rule.per_store_day:.2f}"
            )
    lookalikes = Table(
        "look-alike",
        "instances",
        "alerted",
        "false alerts on it",
        title="False alerts on benign look-alikes",
        title_justify="left",
    )
    for lookalike in score.lookalikes:
        lookalikes.add_row(
            lookalike.scenario,
            str(lookalike.instances),
            str(lookalike.alerted),
            str(lookalike.false_alerts),
        )
    timings = Table("phase", "seconds", "events", "events/s", title="Timings", title_justify="left")
    for timing in report.timings:
        timings.add_row(
            timing.phase,
            f"{timing.seconds:.1f}",
            f"{timing.events:,}",
            f"{timing.events_per_s:,.0f}",
        )
    parts: list[Table | str] = [scenarios_table, summary, rules_table, lookalikes, timings]
    if report.compression is not None:
        parts.append(report.compression.table().rstrip())
    if report.response is not None:
        parts.append(_response_table(report.response))
    if report.rule_errors:
        parts.append(
            "Rules that failed: "
            + "; ".join(f"{uid}: {error}" for uid, error in sorted(report.rule_errors.items()))
        )
    if report.unfit_scenarios:
        parts.append(
            "Scenarios left out: "
            + "; ".join(f"{name}: {why}" for name, why in sorted(report.unfit_scenarios.items()))
        )
    if report.skipped_files:
        parts.append(f"Files not ingested: {', '.join(report.skipped_files)}")
    return parts


def _response_table(response: Drill) -> Table:
    """Response times per use case (medians, event time), and what the playbooks did."""
    table = Table(
        title=(
            f"Response drill (every store autonomous): {response.incidents} incidents, "
            f"{response.runs} playbook runs, {response.actions} actions, "
            f"{response.waiting} approvals waiting, {response.failures} failures"
        ),
        title_justify="left",
    )
    for name in ("use case", "incidents", "time to detect", "contained", "time to contain"):
        table.add_column(name, justify="left" if name == "use case" else "right")
    table.add_column("dwell time", justify="right")
    for group in (*response.metrics.by_use_case, response.metrics.overall):
        contain = group.summary(Metric.TIME_TO_CONTAIN)
        table.add_row(
            group.group,
            str(group.incidents),
            _median(group.summary(Metric.TIME_TO_DETECT).median),
            str(contain.count),
            _median(contain.median),
            _median(group.summary(Metric.DWELL_TIME).median),
        )
    return table


def _median(value: timedelta | None) -> str:
    return "" if value is None else f"{value.total_seconds():,.0f} s"
