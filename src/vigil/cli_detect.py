"""`vigil detect ...` and `vigil eval`: rules, backtests, and the scored evaluation."""

from __future__ import annotations

import json
import re
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import err, estate_of, fail, open_database, out, settings_of
from vigil.detect.engine import Engine
from vigil.detect.loader import lint_rules, load_pack, load_rules, pack_files
from vigil.detect.rules import Rule
from vigil.detect.sink import alert_record, store_alerts
from vigil.detect.types import Alert, LintError
from vigil.estate import Estate
from vigil.store.database import Database
from vigil.store.lake import Lake

detect_app = typer.Typer(help="Detection rules: lint, list, backtest, run.", no_args_is_help=True)
_SINCE = re.compile(r"^(\d+)([hdw])$")


def _since(text: str | None) -> datetime | None:
    if text is None:
        return None
    match = _SINCE.match(text)
    if match is None:
        raise fail(f"--since {text!r}: expected a span like 12h, 30d or 2w")
    unit = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
    return datetime.now(UTC) - int(match.group(1)) * unit[match.group(2)]


@detect_app.command("lint")
def lint(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
) -> None:
    """Check rules (default: the shipped retail pack); every problem as file:line, at once."""
    rules, errors = lint_rules(paths or pack_files())
    for error in errors:
        err.print(str(error), highlight=False, soft_wrap=True)
    out.print(f"{len(rules)} rule(s) load, {len(errors)} problem(s)")
    if errors:
        raise typer.Exit(1)


@detect_app.command("list")
def list_rules(
    paths: Annotated[list[Path] | None, typer.Argument(help="Rule files or folders.")] = None,
) -> None:
    """The rules, by use case, with severity, ATT&CK and PCI DSS references."""
    rules = _load(paths)
    table = Table("use case", "rule", "kind", "severity", "ATT&CK", "PCI DSS")
    for rule in sorted(rules, key=lambda r: (r.meta.use_case, r.meta.uid)):
        table.add_row(
            rule.meta.use_case,
            rule.meta.uid,
            rule.spec.kind,
            rule.meta.severity.name.lower(),
            ", ".join(rule.meta.attack),
            ", ".join(rule.meta.pci),
        )
    out.print(table)
    by_case = Counter(rule.meta.use_case for rule in rules)
    out.print(f"{len(rules)} rules for {len(by_case)} use cases")


def _load(paths: list[Path] | None) -> list[Rule]:
    try:
        return load_rules(paths) if paths else load_pack()
    except LintError as error:
        raise fail(f"{len(error.errors)} broken rule(s):\n{error}") from error


def _replay(data: Path, rules: list[Rule], since: str | None) -> tuple[list[Alert], int]:
    from vigil.eval.replay import replay
    from vigil.store.lake import Lake

    settings = settings_of(data)
    estate = estate_of(settings.estate_path) if settings.estate_path.exists() else None
    engine = Engine(rules, estate)
    result = replay(Lake(settings.lake_path), engine, since=_since(since))
    for uid, health in engine.health.items():
        if health.errors:
            err.print(f"rule {uid} failed {health.errors} time(s): {health.last_error}")
    return result.alerts, result.events


@detect_app.command("backtest")
def backtest(
    rule: Annotated[str, typer.Argument(help="Rule id from the pack, or a rule file.")],
    data: Annotated[Path, typer.Option("--data", "-d", envvar="VIGIL_DATA")] = Path("vigil-data"),
    since: Annotated[str | None, typer.Option(help="How far back: 12h, 30d, 2w.")] = "30d",
    as_json: Annotated[bool, typer.Option("--json", help="One JSON alert per line.")] = False,
) -> None:
    """Run one rule over the lake's history and show the alerts it would have raised."""
    path = Path(rule)
    chosen = _load([path]) if path.exists() else [r for r in load_pack() if r.meta.uid == rule]
    if not chosen:
        raise fail(f"no rule {rule!r} in the pack and no such file")
    alerts, events = _replay(data, chosen, since)
    _print_alerts(alerts, as_json)
    if not as_json:
        out.print(f"{len(alerts)} alert(s) over {events:,} events")


@detect_app.command("run")
def run(
    data: Annotated[Path, typer.Option("--data", "-d", envvar="VIGIL_DATA")] = Path("vigil-data"),
    since: Annotated[str | None, typer.Option(help="How far back: 12h, 30d, 2w.")] = None,
    rules: Annotated[list[Path] | None, typer.Option("--rules", help="Rule files.")] = None,
) -> None:
    """Run the pack (or --rules) over the lake and store the alerts (each alert once)."""

    alerts, events = _replay(data, _load(rules), since)
    database = open_database(settings_of(data))
    try:
        new = store_alerts(database, alerts)
    finally:
        database.close()
    by_rule = Counter(alert.rule.uid for alert in alerts)
    for uid, count in by_rule.most_common():
        out.print(f"{count:6,}  {uid}")
    out.print(f"{len(alerts)} alert(s) over {events:,} events, {new} new in the database")


def demo_detections(lake: Lake, estate: Estate, database: Database) -> None:
    """The demo's detection step: the pack over the lake, alerts stored and shown."""
    from vigil.eval.replay import replay

    engine = Engine(load_pack(), estate)
    result = replay(lake, engine)
    new = store_alerts(database, result.alerts)
    out.print(
        f"\n[bold]Detections[/]: {len(engine.rules)} rules of the retail pack over "
        f"{result.events:,} events raised {len(result.alerts)} alert(s) ({new} stored)."
    )
    _print_alerts(result.alerts, as_json=False)


def _print_alerts(alerts: list[Alert], as_json: bool) -> None:
    if as_json:
        for alert in alerts:
            out.print_json(json.dumps(alert_record(alert), default=str))
        return
    table = Table("time (UTC)", "rule", "severity", "entities", "explanation")
    for alert in alerts:
        table.add_row(
            alert.time.strftime("%Y-%m-%d %H:%M:%S"),
            alert.rule.title,
            alert.rule.severity.name.lower(),
            ", ".join(f"{k}={v}" for k, v in alert.entities.items()),
            alert.explanation,
        )
    out.print(table)


def eval_command(
    stores: Annotated[int, typer.Option(min=1, max=200, help="Stores in the estate.")] = 20,
    days: Annotated[float, typer.Option(min=0.05, max=14, help="Evaluated days.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 101,
    warmup: Annotated[
        float, typer.Option(min=0, max=14, help="Benign days before, to learn.")
    ] = 1.0,
    workdir: Annotated[Path | None, typer.Option(help="Keep the run's files here.")] = None,
    as_json: Annotated[Path | None, typer.Option("--json", help="Also write the report.")] = None,
    reuse: Annotated[
        bool, typer.Option(help="Re-detect the --workdir of an identical run; no sim, no ingest.")
    ] = False,
    instances: Annotated[
        int, typer.Option(min=1, max=20, help="Times each scenario strikes, each its own way.")
    ] = 3,
) -> None:
    """Simulate, ingest, detect and score against ground truth: recall, false alerts, TTD."""
    from vigil.eval.run import run_eval

    with tempfile.TemporaryDirectory(prefix="vigil-eval-") as scratch:
        folder = workdir or Path(scratch)
        report = run_eval(
            stores=stores,
            days=days,
            seed=seed,
            warmup_days=warmup,
            workdir=folder,
            reuse=reuse,
            instances=instances,
            progress=lambda p: err.print(f"{p.phase}: {p.done}/{p.total}", end="\r"),
        )
    err.print()
    out.print(report.table(), highlight=False)
    if as_json is not None:
        as_json.write_text(report.to_json() + "\n", encoding="utf-8")
