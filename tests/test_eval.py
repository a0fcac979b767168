"""Evaluation: scoring alerts against truth (inline cases), replaying a lake through the engine."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from vigil.detect.engine import Engine
from vigil.detect.rules.base import Rule, RuleSpec
from vigil.detect.types import Alert, RuleMeta, Severity
from vigil.estate import load_sample_estate
from vigil.eval.drill import drill
from vigil.eval.replay import ReplayProgress, engine_schema, replay
from vigil.eval.report import EvalReport, EvalSetup, PhaseTiming
from vigil.eval.run import run_eval
from vigil.eval.score import (
    LookalikeScore,
    RuleNoise,
    ScenarioScore,
    Scorecard,
    matches,
    read_truth,
    score_alerts,
)
from vigil.eval.workdir import fresh_folders, same_run
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.sim import TruthRecord, World, generate_estate, simulate
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

T0 = datetime(2026, 11, 23, 12, tzinfo=UTC)
"""Start of the inline truth instances."""


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def truth(
    uid: str,
    scenario: str,
    label: str = "attack",
    stores: tuple[str, ...] = ("001",),
    start: float = 0,
    end: float = 60,
    **entities: list[str],
) -> TruthRecord:
    """A truth instance from `start` to `end` minutes after T0."""
    return TruthRecord(
        scenario=scenario,
        uid=uid,
        label=label,  # type: ignore[arg-type]
        start=at(start).timestamp(),
        end=at(end).timestamp(),
        stores=stores,
        entities=entities,
        sources=(),
        description="",
    )


def alert(rule: str, minutes: float, use_case: str = "other", **entities: str) -> Alert:
    meta = RuleMeta(
        uid=rule,
        title=rule,
        severity=Severity.HIGH,
        confidence=80,
        explanation="",
        use_case=use_case,
    )
    return Alert(
        rule=meta,
        time=at(minutes),
        first_seen=at(minutes),
        entities=entities,
        values={},
        evidence=pl.DataFrame(),
        score=0.8,
        explanation="",
    )


MALWARE = truth("t1", "pos_malware", device=["s001-pos-01"], ip=["10.0.11.11"])
WEB = truth("t2", "card_testing", "fraud", stores=(), ip=["174.50.86.153"])


@pytest.mark.parametrize(
    ("case", "record", "found", "expected"),
    [
        ("shared device", MALWARE, alert("r", 10, store="001", device="s001-pos-01"), True),
        ("case-insensitive", MALWARE, alert("r", 10, store="001", device="S001-POS-01"), True),
        ("other store", MALWARE, alert("r", 10, store="002", device="s001-pos-01"), False),
        # An identity provider's event has no store: a shared entity is enough.
        ("no store on alert, shared device", MALWARE, alert("r", 10, device="s001-pos-01"), True),
        (
            "no store on alert, same use case only",
            MALWARE,
            alert("r", 10, use_case="pos_malware"),
            False,
        ),
        ("estate-wide instance", WEB, alert("r", 10, store="009", ip="174.50.86.153"), True),
        ("estate-wide, no store", WEB, alert("r", 10, ip="174.50.86.153"), True),
        ("5 min early", MALWARE, alert("r", -5, store="001", ip="10.0.11.11"), True),
        ("too early", MALWARE, alert("r", -5.1, store="001", ip="10.0.11.11"), False),
        ("30 min late", MALWARE, alert("r", 90, store="001", ip="10.0.11.11"), True),
        ("too late", MALWARE, alert("r", 90.1, store="001", ip="10.0.11.11"), False),
        ("nothing shared", MALWARE, alert("r", 10, store="001", device="s001-pos-02"), False),
        ("use case", MALWARE, alert("r", 10, "pos_malware", store="001"), True),
        (
            "store alone is no entity",
            truth("t3", "store_opening", "benign", store=["001"]),
            alert("r", 10, store="001"),
            False,
        ),
    ],
)
def test_matches(case: str, record: TruthRecord, found: Alert, expected: bool) -> None:
    assert matches(found, record) is expected, case


def test_score_alerts_gives_the_exact_scorecard() -> None:
    records = [
        MALWARE,
        truth("t4", "pos_malware", stores=("002",), start=600, end=700, device=["s002-pos-01"]),
        WEB,
        truth("t5", "flash_sale", "benign", stores=(), ip=["174.48.1.1"]),
        truth("t6", "flash_sale", "benign", stores=(), start=300, ip=["174.48.9.9"]),
    ]
    alerts = [
        alert("net.exfil", 20, store="001", ip="10.0.11.11"),  # t1 after 20 min
        alert("pos.malware", 5, "pos_malware", store="001"),  # t1 after 5 min (first)
        alert("web.cards", -3, store="007", ip="174.50.86.153"),  # t2, early: TTD 0
        alert("web.cards", 30, store="007", ip="174.48.1.1"),  # false, on look-alike t5
        alert("web.cards", 31, ip="174.48.1.1"),  # false, on t5 again
        alert("net.exfil", 200, store="003", ip="10.9.9.9"),  # false, on nothing
    ]
    assert score_alerts(alerts, records, store_days=4.0) == Scorecard(
        scenarios=(
            ScenarioScore(
                "pos_malware", "attack", 2, 1, 300.0, 300.0, ("net.exfil", "pos.malware"), (300.0,)
            ),
            ScenarioScore("card_testing", "fraud", 1, 1, 0.0, 0.0, ("web.cards",), (0.0,)),
        ),
        rules=(
            RuleNoise("web.cards", 3, 2, 0.5),
            RuleNoise("net.exfil", 2, 1, 0.25),
            RuleNoise("pos.malware", 1, 0, 0.0),
        ),
        lookalikes=(LookalikeScore("flash_sale", 2, 1, 2),),
        alerts=6,
        false_alerts=3,
        store_days=4.0,
    )


def test_scorecard_recall_median_and_json() -> None:
    records = [
        truth(f"t{n}", "ddos", start=10 * n, end=10 * n + 5, ip=[f"1.1.1.{n}"]) for n in range(4)
    ]
    alerts = [alert("web.ddos", 10 * n + n, store="001", ip=f"1.1.1.{n}") for n in (1, 2, 3)]
    card = score_alerts(alerts, records, store_days=1.0)
    (row,) = card.scenarios
    assert (row.instances, row.detected, row.recall) == (4, 3, 0.75)
    assert (row.median_ttd_s, row.max_ttd_s) == (120.0, 180.0)
    assert row.ttd_s == (60.0, 120.0, 180.0)
    assert card.median_ttd_s == 120.0
    data = json.loads(json.dumps(card.to_dict()))
    assert data["scenarios"][0]["recall"] == 0.75
    assert data["false_per_store_day"] == 0.0


def test_time_to_detect_counts_from_the_first_malicious_event() -> None:
    # A guest joins the Wi-Fi at minute 0 and starts scanning at minute 5: an alert at
    # minute 6 took one minute, not six.
    joined = truth("scan", "guest_wifi_scan", start=0, end=30, ip=["10.1.0.9"])
    scanning = replace(joined, onset=at(5).timestamp())
    found = [alert("net.guest_scan", 6, store="001", ip="10.1.0.9")]
    (row,) = score_alerts(found, [scanning], store_days=1.0).scenarios
    assert row.median_ttd_s == 60.0
    (plain,) = score_alerts(found, [joined], store_days=1.0).scenarios
    assert plain.median_ttd_s == 360.0


def test_score_of_no_alerts() -> None:
    card = score_alerts([], [MALWARE, WEB], store_days=2.0)
    assert [(row.scenario, row.detected, row.median_ttd_s) for row in card.scenarios] == [
        ("pos_malware", 0, None),
        ("card_testing", 0, None),
    ]
    assert (card.alerts, card.false_alerts, card.rules, card.lookalikes) == (0, 0, (), ())


def test_read_truth_round_trips_the_simulators_file(tmp_path: Path) -> None:
    records = [MALWARE, replace(WEB, onset=WEB.start + 30)]
    path = tmp_path / "truth.jsonl"
    path.write_text("".join(json.dumps(record.as_dict()) + "\n" for record in records))
    assert read_truth(path) == records


# --- replay ---------------------------------------------------------------------------------


class Recorder(Rule):
    """Records every frame the engine hands it; never alerts."""

    def __init__(self, classes: tuple[str, ...]) -> None:
        spec = RuleSpec(
            id="test.recorder",
            title="records",
            kind="recorder",
            use_case="test",
            severity="low",
            explanation="",
        )
        super().__init__(spec, "test")
        self._classes = classes
        self.seen: list[tuple[str, pl.DataFrame]] = []

    @property
    def classes(self) -> tuple[str, ...]:
        return self._classes

    def run(self, event_class: str, frame: pl.DataFrame, watermark: datetime) -> list[Alert]:
        self.seen.append((event_class, frame))
        return []

    def rows(self, event_class: str) -> pl.DataFrame:
        frames = [frame for name, frame in self.seen if name == event_class]
        return pl.concat(frames) if frames else pl.DataFrame()


CLASSES = ("dns_activity", "http_activity", "network_activity")
START = datetime(2026, 11, 23, 8, tzinfo=UTC)


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    """A lake ingested from a tiny simulation: one store, 0.2 days, no scenarios."""
    root = tmp_path_factory.mktemp("eval")
    estate = generate_estate(1, 3)
    simulate(World(estate, START, 0.2, 3), [], root / "sim")
    database = Database.open(sqlite_url(root))
    try:
        import_path(root / "sim", Ingestor(Lake(root / "lake"), database, Enricher(estate)))
    finally:
        database.close()
    return Lake(root / "lake")


def lake_rows(lake: Lake, name: str, since: datetime, until: datetime) -> pl.DataFrame:
    """The class's flat columns straight from the lake, in the engine's types, in a fixed order."""
    schema = pl.Schema(
        {column: kind for column, kind in engine_schema(name).items() if not kind.is_nested()}
    )
    columns = ", ".join(f'"{column}"' for column in schema)
    sql = f'SELECT {columns} FROM "{name}" WHERE time >= ? AND time < ?'
    connection = lake.connect()
    try:
        frame: pl.DataFrame = connection.sql(sql, params=[since, until]).pl()
        return canonical(frame.cast(schema))
    finally:
        connection.close()


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """The flat columns sorted by all of them: equal frames hold the same multiset of rows."""
    flat = [column for column, kind in frame.schema.items() if not kind.is_nested()]
    flat = [column for column in flat if not column.startswith("ctx.")]
    return frame.select(flat).sort(flat, nulls_last=True)


EVER = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


@pytest.mark.slow
def test_replay_hands_every_event_once_in_time_order(lake: Lake) -> None:
    recorder = Recorder(CLASSES)
    steps: list[ReplayProgress] = []
    result = replay(lake, Engine([recorder]), progress=steps.append)
    assert result.late_count == 0
    assert result.alerts == []
    total = 0
    for name in CLASSES:
        expected = lake_rows(lake, name, *EVER)
        seen = recorder.rows(name)
        assert seen.height == expected.height > 0, name
        assert canonical(seen).equals(expected), name  # each row once, none missing
        assert seen.get_column("time").is_sorted(), name
        total += seen.height
    assert result.events == total == sum(result.events_by_class.values())
    # Frames are the class's columns and types (no `day`/`store` partition columns) plus ctx.*.
    name, frame = recorder.seen[0]
    schema = engine_schema(name)
    assert {column: frame.schema[column] for column in schema.names()} == dict(schema)
    assert "day" not in frame.columns
    # Across classes, no batch starts behind the newest time seen less the engine's lateness.
    newest: datetime | None = None
    for _, batch in recorder.seen:
        first, last = batch.get_column("time").min(), batch.get_column("time").max()
        assert isinstance(first, datetime)
        assert isinstance(last, datetime)
        assert newest is None or first >= newest - timedelta(minutes=10)
        newest = last if newest is None else max(newest, last)
    assert [step.windows_done for step in steps] == list(range(1, len(steps) + 1))
    assert steps[-1].windows_total == len(steps)
    assert steps[-1].events == result.events


@pytest.mark.slow
def test_replay_respects_since_and_until(lake: Lake) -> None:
    since, until = START + timedelta(minutes=37, seconds=1.5), START + timedelta(hours=2, minutes=3)
    recorder = Recorder(("network_activity",))
    steps: list[ReplayProgress] = []
    result = replay(lake, Engine([recorder]), since, until, timedelta(minutes=7), steps.append)
    assert [(step.windows_done, step.windows_total) for step in steps] == [
        (n, 13) for n in range(1, 14)
    ]
    assert steps[-1].until == until
    seen = recorder.rows("network_activity")
    expected = lake_rows(lake, "network_activity", since, until)
    assert result.events == seen.height == expected.height > 0
    times = seen.get_column("time")
    first, last = times.min(), times.max()
    assert isinstance(first, datetime)
    assert isinstance(last, datetime)
    assert since <= first
    assert last < until


@pytest.mark.slow
def test_replay_split_in_two_equals_one_replay(lake: Lake) -> None:
    middle = START + timedelta(hours=2)
    first, second = Recorder(CLASSES), Recorder(CLASSES)
    engine = Engine([first])
    whole = replay(lake, Engine([second]))
    before = replay(lake, engine, None, middle)
    after = replay(lake, engine, middle, None)
    assert before.events + after.events == whole.events
    assert before.late_count == after.late_count == 0
    for name in CLASSES:
        assert first.rows(name).equals(second.rows(name)), name


@pytest.mark.slow
def test_replay_of_nothing(lake: Lake, tmp_path: Path) -> None:
    recorder = Recorder(("pos_transaction",))
    assert replay(lake, Engine([recorder])).events == 0  # a class the lake has no rows of
    assert replay(Lake(tmp_path / "empty"), Engine([Recorder(CLASSES)])).events == 0
    assert replay(lake, Engine([])).events == 0
    late = START + timedelta(days=3)
    assert replay(lake, Engine([Recorder(CLASSES)]), late, late + timedelta(hours=1)).events == 0
    with pytest.raises(ValueError, match="step"):
        replay(lake, Engine([Recorder(CLASSES)]), step=timedelta(0))


# --- report and work folder ----------------------------------------------------------------


def test_a_report_reads_as_tables_and_json_without_a_run() -> None:
    report = EvalReport(
        setup=EvalSetup(stores=2, days=1.0, warmup_days=0.5, seed=9, start=T0, rules=3),
        score=score_alerts([], [MALWARE, WEB], store_days=2.0),
        timings=[PhaseTiming("sim", 2.0, 100), PhaseTiming("score", 0.0, 0)],
        rule_errors={"pos.beacon": "boom"},
        skipped_files=["eval/empty.log"],
        unfit_scenarios={"card_testing": "no trading hours"},
    )
    text = report.table()
    assert "2 stores, 1 days after 0.5 warm-up, seed 9" in text
    assert "Rules that failed: pos.beacon: boom" in text
    assert "Scenarios left out: card_testing: no trading hours" in text
    assert "Files not ingested: eval/empty.log" in text
    data = json.loads(report.to_json())
    assert data["setup"]["start"] == T0.isoformat()
    assert [timing["events_per_s"] for timing in data["timings"]] == [50.0, 0.0]
    assert (data["compression"], data["response"]) == (None, None)


def test_a_work_folder_is_reused_only_after_a_finished_run(tmp_path: Path) -> None:
    estate = generate_estate(1, 3)
    assert not same_run(tmp_path, estate, 3, T0, T0 + timedelta(days=1), 1)
    (tmp_path / "lake" / "old").mkdir(parents=True)
    (tmp_path / "vigil.db").write_text("old")
    folders = fresh_folders(tmp_path)
    assert sorted(folders) == ["eval", "lake", "warmup"]
    assert not any(folder.exists() for folder in folders.values())
    assert not (tmp_path / "vigil.db").exists()


# --- end to end -----------------------------------------------------------------------------


@pytest.mark.slow
def test_run_eval_on_a_tiny_estate(tmp_path: Path) -> None:
    recorder = Recorder(("network_activity", "pos_transaction"))
    phases: list[str] = []
    report = run_eval(
        stores=1,
        days=0.25,
        warmup_days=0.1,
        seed=3,
        rules=[recorder],
        workdir=tmp_path,
        progress=lambda step: phases.append(step.phase),
    )
    assert [timing.phase for timing in report.timings] == [
        "sim",
        "ingest",
        "detect",
        "score",
        "correlate",
        "respond",
    ]
    assert report.compression is not None
    assert report.compression.alerts == 0  # the recorder never alerts
    assert report.response is not None
    assert (report.response.incidents, report.response.runs) == (0, 0)
    assert {"sim", "ingest", "detect warm-up", "detect"} <= set(phases)
    assert report.timings[2].events == sum(frame.height for _, frame in recorder.seen) > 0
    assert report.late_events == 0
    truth = read_truth(tmp_path / "eval" / "truth.jsonl")
    detectable = [record for record in truth if record.label in ("attack", "fraud")]
    assert sum(row.instances for row in report.score.scenarios) == len(detectable) > 0
    assert all(row.detected == 0 for row in report.score.scenarios)  # the recorder never alerts
    assert report.score.store_days == 0.25
    text = report.table()
    assert "scenario" in text
    assert "Timings" in text
    data = json.loads(report.to_json())
    assert data["setup"]["stores"] == 1
    assert len(data["score"]["scenarios"]) == len(report.score.scenarios)

    # The same run again with `reuse`: detected and scored again, nothing simulated.
    again = Recorder(("network_activity", "pos_transaction"))
    reused = run_eval(
        stores=1, days=0.25, warmup_days=0.1, seed=3, rules=[again], workdir=tmp_path, reuse=True
    )
    assert [timing.phase for timing in reused.timings] == [
        "detect",
        "score",
        "correlate",
        "respond",
    ]
    assert reused.timings[0].events == report.timings[2].events
    assert reused.score.scenarios == report.score.scenarios
    # A different seed is not the same run: it simulates afresh.
    other = run_eval(
        stores=1,
        days=0.25,
        warmup_days=0.1,
        seed=4,
        rules=[Recorder(("pos_transaction",))],
        workdir=tmp_path,
        reuse=True,
    )
    assert other.timings[0].phase == "sim"


def test_response_drill_contains_what_policy_lets_it_and_times_it(tmp_path: Path) -> None:
    # A POS terminal beaconing to a new host in store 031 at 03:00 local (store closed),
    # seen by two rules a minute apart: one incident; its playbook quarantines the lane
    # and blocks the host, autonomously, with the drill's clock at the alerts' time.
    night = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    found = [
        replace(
            alert("pos.new_destination", 0, "pos_malware", store="031", ip="203.0.113.9"),
            time=night,
            first_seen=night,
            entities={"store": "031", "device": "s031-pos-01", "ip": "203.0.113.9"},
        ),
        replace(
            alert("pos.exfiltration_after_close", 0, "pos_malware"),
            time=night + timedelta(minutes=1),
            first_seen=night,
            entities={"store": "031", "device": "s031-pos-01", "ip": "203.0.113.9"},
        ),
    ]
    result = drill(found, load_sample_estate(), tmp_path)
    assert result.incidents == 1
    assert result.runs >= 1
    assert result.failures == 0
    # Store closed: quarantine, block and notify need nobody's approval.
    assert (result.actions, result.waiting) == (3, 0)
    (metrics,) = result.metrics.incidents
    assert metrics.use_case == "pos_malware"
    assert metrics.status.value == "contained"
    # Contained as the first alert came in (the drill's clock is event time): no dwell.
    assert (metrics.time_to_contain, metrics.dwell_time) == (timedelta(0), timedelta(0))
