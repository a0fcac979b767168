"""The demo's later steps: the alerts folded into incidents, and what the playbooks would do.

The demo has no real firewall, directory or mail server to act on, so its
response runs against the in-package recording backend, as a dry run: the plan
of each playbook, with the steps that would wait for an approver.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from vigil.cli_support import out
from vigil.correlate import service
from vigil.estate import Estate
from vigil.respond.build import build_responder
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import load_response_settings
from vigil.respond.words import plan_lines
from vigil.store.database import Database

SHOWN = 8
"""Incidents listed, highest risk first."""


def demo_incidents(database: Database, estate: Estate, data: Path) -> None:
    """Fold the stored alerts into incidents, list them, and dry-run the top one's playbooks."""
    run = service.correlate_stored(database, estate)
    incidents = service.list_incidents(database, limit=SHOWN)
    out.print(
        f"\n[bold]Incidents[/]: {run.alerts} alert(s) folded into {run.incidents} incident(s) "
        f"({run.duplicates} repeat(s), {run.merged} merge(s))."
    )
    table = Table("risk", "incident", "stores", "alerts", "why")
    for incident in incidents:
        table.add_row(
            f"{incident.risk.score:.0f} {incident.risk.level.value}",
            incident.title,
            ", ".join(incident.stores) or "estate",
            str(len(incident.alerts)),
            incident.risk.explanation,
        )
    out.print(table)
    if not incidents:
        return
    settings = load_response_settings(data)
    backend = RecordingBackend()
    responder = build_responder(database, settings, data, estate, backend.backends())
    top = incidents[0]
    plans = responder.plan(top.uid)
    out.print(f"\n[bold]Response[/] (dry run) for the top incident, {top.uid[:12]}:")
    if not plans:
        out.print("no playbook applies to it")
    for plan in plans:
        for line in plan_lines(plan):
            out.print(line, highlight=False, soft_wrap=True)
    out.print(f"Run it for real: [bold].venv/bin/vigil respond run {top.uid[:12]} --data {data}[/]")
