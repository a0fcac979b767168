"""`vigil incidents ...`: fold stored alerts into incidents, list them, show one, export evidence."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import estate_of, fail, open_database, out, settings_of
from vigil.config import Settings
from vigil.correlate import service
from vigil.correlate.codec import incident_record
from vigil.correlate.compression import compress
from vigil.correlate.errors import CorrelateError
from vigil.correlate.evidence import export_bundle, verify_bundle
from vigil.correlate.timeline import EXPORT_LIMIT, LIMIT, build_timeline, related_events
from vigil.correlate.types import Incident, IncidentStatus, Timeline
from vigil.estate import Estate
from vigil.store.database import Database
from vigil.store.lake import Lake

app = typer.Typer(help="Incidents: correlate, list, show, export evidence.", no_args_is_help=True)

DataDir = Annotated[
    Path, typer.Option("--data", "-d", help="Data folder.", envvar="VIGIL_DATA", show_default=True)
]


def _estate(settings: Settings) -> Estate | None:
    return estate_of(settings.estate_path) if settings.estate_path.exists() else None


def _incident(database: Database, uid: str) -> Incident:
    try:
        return service.get(database, uid)
    except CorrelateError as error:
        raise fail(str(error)) from error


@app.command("correlate")
def correlate(data: DataDir = Path("vigil-data")) -> None:
    """Fold the stored alerts that are in no incident yet into incidents."""
    settings = settings_of(data)
    database = open_database(settings)
    try:
        run = service.correlate_stored(database, _estate(settings))
    finally:
        database.close()
    out.print(
        f"{run.alerts:,} alert(s): {run.opened:,} incident(s) opened, {run.grew:,} grown, "
        f"{run.duplicates:,} duplicate(s), {run.merged:,} merge(s), {run.reopened:,} reopened; "
        f"{run.incidents:,} incident(s) touched"
    )


@app.command("list")
def list_incidents(
    data: DataDir = Path("vigil-data"),
    status: Annotated[
        list[IncidentStatus] | None, typer.Option("--status", "-s", help="Only these (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most incidents to list.")] = 50,
) -> None:
    """Incidents by risk, highest first."""
    database = open_database(settings_of(data))
    try:
        incidents = service.list_incidents(database, status, limit)
    finally:
        database.close()
    table = Table()
    table.add_column("incident", no_wrap=True)
    for name in ("risk", "status", "title", "stores", "alerts", "first seen (UTC)"):
        table.add_column(name)
    for incident in incidents:
        table.add_row(
            incident.uid,
            f"{incident.risk.score:.0f} {incident.risk.level.value}",
            incident.status.value,
            incident.title,
            ", ".join(incident.stores),
            f"{len(incident.alerts)} ({incident.evidence_count})",
            incident.first_seen.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)
    out.print(f"{len(incidents)} incident(s)")


@app.command("show")
def show(
    uid: Annotated[str, typer.Argument(help="Incident uid (or a unique prefix).")],
    data: DataDir = Path("vigil-data"),
    limit: Annotated[int, typer.Option(min=0, help="Related events shown at most.")] = LIMIT,
    as_json: Annotated[bool, typer.Option("--json", help="The incident as JSON.")] = False,
) -> None:
    """One incident: why its risk is what it is, its entities and its timeline."""
    settings = settings_of(data)
    database = open_database(settings)
    try:
        incident = _incident(database, uid)
    finally:
        database.close()
    if as_json:
        out.print_json(json.dumps(incident_record(incident)))
        return
    timeline = _timeline(settings, incident, limit)
    _print_incident(incident)
    _print_timeline(timeline)


def _timeline(settings: Settings, incident: Incident, limit: int) -> Timeline:
    try:
        events = related_events(Lake(settings.lake_path), incident, limit=limit)
    except CorrelateError as error:
        raise fail(str(error)) from error
    return build_timeline(incident, events, limit)


def _print_incident(incident: Incident) -> None:
    out.print(f"[bold]{incident.title}[/]  ({incident.uid}, {incident.status.value})")
    out.print(f"Risk {incident.risk.score:.0f}/100. {incident.risk.explanation}", highlight=False)
    parts = Table(
        "part", "value", "weight", "points", "why", title="Risk parts", title_justify="left"
    )
    for part in incident.risk.parts:
        parts.add_row(
            part.name, f"{part.value:.2f}", f"{part.weight:.0f}", f"{part.points:.1f}", part.reason
        )
    out.print(parts)
    out.print(
        f"First evidence {incident.first_seen:%Y-%m-%d %H:%M:%S}, first alert "
        f"{incident.opened_at:%Y-%m-%d %H:%M:%S}, newest {incident.last_seen:%Y-%m-%d %H:%M:%S} (UTC); "
        f"time to detect {_span(incident.time_to_detect)}, dwell {_span(incident.dwell_time)}; "
        f"{len(incident.alerts)} finding(s), {incident.evidence_count} alert(s) in all; "
        f"stores {', '.join(incident.stores) or '-'}; tactics {', '.join(incident.tactics) or '-'}"
    )
    entities = Table(
        "kind", "value", "store", "role", "alerts", title="Entities", title_justify="left"
    )
    for entity in incident.entities:
        entities.add_row(
            entity.kind,
            entity.value,
            entity.scope or "(estate)",
            entity.role.value,
            str(entity.alerts),
        )
    out.print(entities)


def _print_timeline(timeline: Timeline) -> None:
    table = Table(
        "time (UTC)", "kind", "source", "store", "what", title="Timeline", title_justify="left"
    )
    for entry in timeline.entries:
        table.add_row(
            entry.time.strftime("%Y-%m-%d %H:%M:%S"),
            entry.kind.value,
            entry.source,
            entry.store or "",
            entry.summary,
        )
    out.print(table)
    out.print(
        f"{timeline.events_shown:,} of {timeline.events_total:,} related event(s) shown; "
        f"graph: {len(timeline.graph.nodes)} nodes, {len(timeline.graph.edges)} edges"
    )


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return (
        f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
        if seconds >= 3600
        else f"{seconds // 60} min {seconds % 60} s"
    )


@app.command("export")
def export(
    uid: Annotated[str, typer.Argument(help="Incident uid (or a unique prefix).")],
    bundle_dir: Annotated[Path, typer.Argument(help="New folder for the bundle.")],
    data: DataDir = Path("vigil-data"),
    actor: Annotated[str | None, typer.Option(help="Who exports (default: the OS user).")] = None,
) -> None:
    """Write an evidence bundle (JSON, CSV, SHA-256 manifest, chain of custody); audit-logged."""
    settings = settings_of(data)
    database = open_database(settings)
    try:
        incident = _incident(database, uid)
        events = related_events(Lake(settings.lake_path), incident, limit=EXPORT_LIMIT)
        timeline = build_timeline(incident, events, EXPORT_LIMIT)
        found = service.findings(database, service.incident_alert_uids(database, incident.uid))
        bundle = export_bundle(
            incident,
            timeline,
            events,
            bundle_dir,
            actor=actor or getpass.getuser(),
            source=str(settings.data_dir.resolve()),
            findings=found,
            database=database,
        )
    except CorrelateError as error:
        raise fail(str(error)) from error
    finally:
        database.close()
    out.print(
        f"Wrote {len(bundle.files)} file(s) to {bundle.directory}; manifest SHA-256 "
        f"{bundle.custody.manifest_sha256}; export recorded in the audit log."
    )


@app.command("verify")
def verify(
    bundle_dir: Annotated[Path, typer.Argument(help="An exported bundle.")],
    data: DataDir = Path("vigil-data"),
) -> None:
    """Check a bundle's hashes, its custody record and its entry in the audit log."""
    database = open_database(settings_of(data))
    try:
        bundle = verify_bundle(bundle_dir, database)
    except CorrelateError as error:
        raise fail(str(error)) from error
    finally:
        database.close()
    custody = bundle.custody
    out.print(
        f"OK: {len(bundle.files)} file(s) match their manifest; exported by {custody.exported_by} "
        f"on {custody.host} at {custody.exported_at}."
    )


@app.command("status")
def set_status(
    uid: Annotated[str, typer.Argument(help="Incident uid (or a unique prefix).")],
    status: Annotated[IncidentStatus, typer.Argument(help="The new status.")],
    data: DataDir = Path("vigil-data"),
    actor: Annotated[str | None, typer.Option(help="Who sets it (default: the OS user).")] = None,
) -> None:
    """Set an incident's status (resolved or closed start its reopen window); audit-logged."""
    database = open_database(settings_of(data))
    try:
        incident = service.set_status(database, uid, status, actor or getpass.getuser())
    except CorrelateError as error:
        raise fail(str(error)) from error
    finally:
        database.close()
    out.print(f"{incident.uid}: {incident.status.value}")


@app.command("compression")
def compression(
    data: DataDir = Path("vigil-data"),
    truth: Annotated[
        Path | None, typer.Option(help="The simulator's truth.jsonl, for per-scenario figures.")
    ] = None,
) -> None:
    """Alerts per incident over every stored alert (a fresh correlator; nothing is stored)."""
    settings = settings_of(data)
    database = open_database(settings)
    try:
        alerts = service.read_alerts(database)
    finally:
        database.close()
    labels = None
    if truth is not None:
        from vigil.eval.score import match_alerts, read_truth

        records = read_truth(truth)
        scenario = {r.uid: r.scenario for r in records if r.label in ("attack", "fraud")}
        labels = {
            alert.uid: sorted(scenario[uid] for uid in uids if uid in scenario)[0]
            for alert, uids in zip(alerts, match_alerts(alerts, records), strict=True)
            if any(uid in scenario for uid in uids)
        }
    out.print(compress(alerts, estate=_estate(settings), labels=labels).table(), highlight=False)
