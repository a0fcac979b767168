"""What an evaluation found, and how it reads: the score, the timings, what went wrong.

`EvalReport.to_json()` is the record `vigil eval --json FILE` writes;
`EvalReport.table()` is the plain-text tables it prints.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table

from vigil.correlate.compression import Compression
from vigil.eval.drill import Drill
from vigil.eval.score import Scorecard
from vigil.respond.metrics import Metric, as_record


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
