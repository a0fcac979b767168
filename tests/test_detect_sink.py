"""Alerts leave detection as OCSF Detection Findings, stored once, and through the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import func, select
from typer.testing import CliRunner

from ocsf_check import OFFICIAL_OBJECT, ocsf_errors
from vigil.bus.memory import MemoryBus
from vigil.cli import app
from vigil.detect.sink import publish_alerts, store_alerts, to_finding
from vigil.detect.types import Alert, RuleMeta, Severity
from vigil.store.database import Database, sqlite_url
from vigil.store.models import Alert as AlertRow

T0 = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
META = RuleMeta(
    uid="vigil.pos.new_destination",
    title="POS terminal contacted a new destination",
    severity=Severity.CRITICAL,
    confidence=85,
    explanation="x",
    use_case="pos_malware",
    attack=("T1041",),
    pci=("11.5.1",),
)


def alert() -> Alert:
    evidence = pl.DataFrame({"time": [T0], "dst_endpoint.ip": ["192.0.2.200"], "bytes": [None]})
    return Alert(
        rule=META,
        time=T0,
        first_seen=T0,
        entities={"store": "031", "device": "s031-pos-02"},
        values={},
        evidence=evidence,
        score=0.85,
        explanation="Terminal s031-pos-02 contacted 192.0.2.200",
        event_class="network_activity",
    )


def test_finding_is_valid_ocsf_detection_finding() -> None:
    finding = to_finding(alert())
    assert ocsf_errors(finding, OFFICIAL_OBJECT) == []
    assert finding.finding_info.analytic is not None
    assert finding.finding_info.analytic.uid == META.uid
    assert finding.evidences is not None
    assert finding.evidences[0].data == {"store": "031", "device": "s031-pos-02"}


def test_alerts_are_stored_once(tmp_path: Path) -> None:
    database = Database.open(sqlite_url(tmp_path))
    try:
        assert store_alerts(database, [alert(), alert()]) == 1
        assert store_alerts(database, [alert()]) == 0
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(AlertRow)) == 1
            row = session.scalars(select(AlertRow)).one()
            assert (row.store_uid, row.severity_id, row.rule_uid) == ("031", 5, META.uid)
    finally:
        database.close()


def test_alerts_are_published_on_the_bus() -> None:
    async def go() -> list[str]:
        bus = MemoryBus()
        subscription = await bus.subscribe("alerts.>", "test")
        await publish_alerts(bus, [alert()])
        messages = await subscription.fetch(10, timeout=0.1)
        return [m.subject for m in messages] + [json.loads(messages[0].data)["rule"]]

    assert asyncio.run(go()) == ["alerts.031.vigil_pos_new_destination", META.uid]


def test_cli_lint_reports_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nkind: threshold\ntitle: t\n")
    result = CliRunner().invoke(app, ["detect", "lint", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:" in result.output
    good = CliRunner().invoke(app, ["detect", "lint"])
    assert good.exit_code == 0
    assert "0 problem(s)" in good.output


def test_cli_backtest_and_run_over_an_imported_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--data", str(data)]).exit_code == 0
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f'203.0.113.50 - - [27/Nov/2026:14:0{m}:{s:02d} +0000] "POST /api/payment/authorize '
            f'HTTP/1.1" 402 159 "-" "Mozilla/5.0"\n'
            for m in range(3)
            for s in range(0, 60, 6)
        )
    )
    imported = runner.invoke(
        app, ["ingest", str(log), "--data", str(data), "--format", "web_access"]
    )
    assert imported.exit_code == 0, imported.output
    backtest = runner.invoke(
        app,
        [
            "detect",
            "backtest",
            "vigil.web.card_testing",
            "--data",
            str(data),
            "--since",
            "520w",
            "--json",
        ],
    )
    assert backtest.exit_code == 0, backtest.output
    assert '"rule": "vigil.web.card_testing"' in backtest.output
    assert "203.0.113.50" in backtest.output
    unknown = runner.invoke(app, ["detect", "backtest", "no.such.rule", "--data", str(data)])
    assert unknown.exit_code == 1
    assert "no rule 'no.such.rule'" in unknown.output
    stored = runner.invoke(app, ["detect", "run", "--data", str(data)])
    again = runner.invoke(app, ["detect", "run", "--data", str(data)])
    assert "2 new in the database" in stored.output  # card testing, and the decline surge
    assert "0 new in the database" in again.output
