"""`vigil demo`: everything end to end on the sample estate, in one terminal.

The sample telemetry is ingested and detected, a few lake queries show what
was kept, the alerts fold into incidents, and the top incident's playbooks are
planned. The demo has no real firewall, directory or mail server to act on, so
its response runs against the in-package recording backend, as a dry run: the
plan of each playbook, with the steps that would wait for an approver.
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_detect import demo_detections
from vigil.cli_support import (
    DataOption,
    estate_of,
    fail,
    initialise,
    open_database,
    out,
    print_result,
    progress_bar,
)
from vigil.correlate import service
from vigil.estate import Estate
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.respond.build import build_responder
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import load_response_settings
from vigil.respond.words import plan_lines
from vigil.store.database import Database
from vigil.store.errors import StoreError
from vigil.store.lake import Lake, QueryResult

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


def demo_command(
    data: DataOption = Path(".vigil-demo"),
    fresh: Annotated[bool, typer.Option(help="Start from an empty data folder.")] = True,
) -> None:
    """Run what Vigil has end to end on the sample estate and sample telemetry."""
    if fresh and data.exists():
        shutil.rmtree(data)
    settings = initialise(data)
    estate = estate_of(settings.estate_path)
    _print_estate(estate)

    sample = resources.files("vigil.events").joinpath("samples/sample_events.ndjson")
    data_bytes = sample.read_bytes()
    database = open_database(settings)
    lake = Lake(settings.lake_path)
    ingestor = Ingestor(lake, database, Enricher(estate))
    with progress_bar("ingest", out) as progress:
        task = progress.add_task("sample_events.ndjson", total=len(data_bytes))
        with resources.as_file(sample) as sample_path:
            imported = import_path(
                sample_path,
                ingestor,
                "ocsf_json",
                progress=lambda n: progress.advance(task, n),
            )
    report = imported.total
    database.audit(
        "demo",
        "ingest",
        "sample_events.ndjson",
        {"stored": report.total_events, "rejected": report.rejected},
    )
    out.print(
        f"Stored {report.total_events} events in {len(list(lake.files()))} Parquet files "
        f"({', '.join(f'{k} {v}' for k, v in sorted(report.events.items()))}); "
        f"{report.rejected} rejected."
    )

    for title, sql in DEMO_QUERIES:
        try:
            print_result(lake.query(sql), title)
        except StoreError as error:
            raise fail(str(error)) from error
    _print_after_hours(estate, lake)
    demo_detections(lake, estate, database)
    demo_incidents(database, estate, data)

    entries = database.verify_audit()
    database.close()
    out.print(f"Audit log: {entries} entries, hash chain verified.")
    out.print(
        f"\nTry: [bold].venv/bin/vigil query --data {data} "  # noqa: S608 - a hint, not a query
        '"SELECT store, count(*) FROM pos_transaction GROUP BY ALL"[/]'
    )


DEMO_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Events per store and class",
        """
        SELECT coalesce("store.uid", '-') AS store, class_name, count(*) AS events
        FROM (SELECT "store.uid", class_name FROM pos_transaction
              UNION ALL SELECT "store.uid", class_name FROM network_activity
              UNION ALL SELECT "store.uid", class_name FROM authentication
              UNION ALL SELECT "store.uid", class_name FROM door_access
              UNION ALL SELECT "store.uid", class_name FROM video_observation
              UNION ALL SELECT "store.uid", class_name FROM inventory_info
              UNION ALL SELECT "store.uid", class_name FROM dns_activity
              UNION ALL SELECT "store.uid", class_name FROM http_activity)
        GROUP BY ALL ORDER BY store, events DESC""",
    ),
    (
        "POS exceptions by cashier",
        """
        SELECT "store.uid" AS store, "cashier.name" AS cashier,
               count(*) FILTER (activity_name = 'No Sale') AS no_sales,
               count(*) FILTER (activity_name = 'Refund') AS refunds,
               count(*) FILTER (activity_name = 'Refund' AND "transaction.original_receipt_uid" IS NULL)
                   AS refunds_without_receipt,
               sum("transaction.void_count") AS voided_lines
        FROM pos_transaction GROUP BY ALL
        HAVING no_sales + refunds + coalesce(voided_lines, 0) > 0
        ORDER BY no_sales DESC, refunds_without_receipt DESC, voided_lines DESC LIMIT 8""",
    ),
    (
        "Largest uploads from the POS segment to the internet",
        """
        SELECT "store.uid" AS store, "src_endpoint.uid" AS device, "dst_endpoint.ip" AS destination,
               "dst_endpoint.port" AS port, "traffic.bytes_out" AS bytes_out
        FROM network_activity
        WHERE "src_endpoint.zone" = 'pos' AND NOT starts_with("dst_endpoint.ip", '10.')
        ORDER BY bytes_out DESC LIMIT 3""",
    ),
    (
        "Failed remote logins by source",
        """
        SELECT "src_endpoint.ip" AS source, "service.name" AS service,
               count(*) AS failures, count(DISTINCT "user.name") AS accounts_tried,
               min(time) AS first, max(time) AS last
        FROM authentication WHERE status_id = 2 GROUP BY ALL
        HAVING failures >= 5 ORDER BY failures DESC""",
    ),
)


def _print_estate(estate: Estate) -> None:
    table = Table(
        title=f"Estate: {estate.organisation.name}", title_justify="left", title_style="bold"
    )
    for column in ("region", "store", "time zone", "open now", "assets", "critical"):
        table.add_column(column)
    now = datetime.now(UTC)
    for region in estate.regions:
        for store in region.stores:
            critical = sum(1 for asset in store.assets if asset.criticality == "critical")
            table.add_row(
                region.name,
                f"{store.uid} {store.name}",
                store.timezone,
                "yes" if estate.is_open(store, now) else "no",
                str(len(store.assets)),
                str(critical),
            )
    out.print(table)
    kinds = Counter(identity.kind.value for identity in estate.identities)
    out.print(
        "Identities: " + ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    )


def _print_after_hours(estate: Estate, lake: Lake) -> None:
    """Door and video events while their store was closed, by the estate's opening hours."""
    result = lake.query("""
        SELECT time, "store.uid" AS store, class_name, activity_name, coalesce("door.name", "zone.name") AS place
        FROM (SELECT time, "store.uid", class_name, activity_name, "door.name", NULL AS "zone.name" FROM door_access
              UNION ALL BY NAME
              SELECT time, "store.uid", class_name, activity_name, NULL AS "door.name", "zone.name" FROM video_observation)
        ORDER BY time""")
    closed = [
        row
        for row in result.rows
        if isinstance(row[1], str)
        and isinstance(row[0], datetime)
        and not estate.is_open(estate.store(row[1]), row[0])
    ]
    print_result(
        QueryResult(result.columns, closed, result.table.slice(0, 0)),
        "Physical events while the store was closed",
    )
