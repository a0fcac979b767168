"""The `vigil` command."""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections import Counter
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pa_csv
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigil import __version__
from vigil.cli_console import app as console_app
from vigil.cli_demo import demo_incidents
from vigil.cli_detect import demo_detections, detect_app, eval_command
from vigil.cli_incidents import app as incidents_app
from vigil.cli_live import live_demo
from vigil.cli_models import app as models_app
from vigil.cli_respond import app as respond_app
from vigil.cli_support import err, estate_of, fail, open_database, out, settings_of
from vigil.cli_video import app as video_app
from vigil.config import CONFIG_FILE, Settings, default_config_text
from vigil.estate import Estate, sample_estate_text
from vigil.events.docs import render_markdown
from vigil.ingest import IngestError, Ingestor, import_path, ingest_status, parsers
from vigil.ingest.enrich import Enricher
from vigil.ingest.pipeline import ChunkReport
from vigil.plugins import PluginNotFoundError
from vigil.sim import SimError, World, generate_estate, scenarios, simulate, sources
from vigil.sim.stream import open_sink, stream
from vigil.store.database import Database
from vigil.store.errors import StoreError
from vigil.store.lake import Lake, QueryResult

app = typer.Typer(
    help="Vigil: security operations for retailers.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
estate_app = typer.Typer(help="Check and inspect the estate file.", no_args_is_help=True)
events_app = typer.Typer(help="The event model.", no_args_is_help=True)
lake_app = typer.Typer(help="The event lake.", no_args_is_help=True)
app.add_typer(estate_app, name="estate")
app.add_typer(events_app, name="events")
app.add_typer(lake_app, name="lake")
app.add_typer(detect_app, name="detect")
app.add_typer(models_app, name="models")
app.add_typer(incidents_app, name="incidents")
app.add_typer(respond_app, name="respond")
app.add_typer(video_app, name="video")
app.add_typer(console_app, name="console")
app.command("eval")(eval_command)
app.command("live")(live_demo)

DataOption = Annotated[
    Path, typer.Option("--data", "-d", help="Data folder.", envvar="VIGIL_DATA", show_default=True)
]
DEFAULT_DATA = Path("vigil-data")


@app.command()
def version() -> None:
    """Print Vigil's version."""
    out.print(f"vigil {__version__}")


@app.command()
def init(data: DataOption = DEFAULT_DATA) -> None:
    """Create a data folder: configuration, sample estate, database, lake."""
    settings = _initialise(data)
    out.print(
        f"Initialised [bold]{data}[/] (database revision {Database.head_revision()}, "
        f"estate {settings.estate_path.name})."
    )


def _initialise(data: Path) -> Settings:
    data.mkdir(parents=True, exist_ok=True)
    config_path = data / CONFIG_FILE
    if not config_path.exists():
        config_path.write_text(default_config_text(), encoding="utf-8")
    settings = settings_of(data)
    if not settings.estate_path.exists():
        settings.estate_path.write_text(sample_estate_text(), encoding="utf-8")
    settings.lake_path.mkdir(parents=True, exist_ok=True)
    database = open_database(settings)
    database.audit("cli", "init", str(data.resolve()), {"version": __version__})
    database.close()
    return settings


@estate_app.command("validate")
def estate_validate(path: Annotated[Path, typer.Argument(help="Estate YAML file.")]) -> None:
    """Check an estate file and list every problem as file:line."""
    estate = estate_of(path)
    out.print(
        f"{path}: valid — {len(estate.regions)} regions, {len(estate.stores)} stores, "
        f"{len(estate.assets)} assets, {len(estate.identities)} identities."
    )


@events_app.command("docs")
def events_docs(
    output: Annotated[Path | None, typer.Option(help="Write here instead of printing.")] = None,
) -> None:
    """Generate the event schema reference (Markdown) from the code."""
    text = render_markdown()
    if output is None:
        out.print(text, markup=False, highlight=False)
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}")


class OutputFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


@app.command()
def query(
    sql: Annotated[
        str, typer.Argument(help="One read-only SELECT; views are named after event classes.")
    ],
    data: DataOption = DEFAULT_DATA,
    limit: Annotated[int, typer.Option(min=1, help="Most rows to return.")] = 100,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", "-f", help="table, csv or json (one object per line)."),
    ] = OutputFormat.TABLE,
) -> None:
    """Run read-only SQL over the event lake (DuckDB), e.g. SELECT count(*) FROM pos_transaction."""
    lake = _lake(data)
    try:
        result = lake.query(sql, limit=limit + 1)
    except StoreError as error:
        raise fail(str(error)) from error
    truncated = len(result.rows) > limit
    result = QueryResult(result.columns, result.rows[:limit], result.table.slice(0, limit))
    if output is OutputFormat.CSV:
        buffer = io.BytesIO()
        pa_csv.write_csv(_printable(result.table), buffer)
        sys.stdout.write(buffer.getvalue().decode())
    elif output is OutputFormat.JSON:
        for row in result.table.to_pylist():
            sys.stdout.write(json.dumps(row, default=str) + "\n")
    else:
        _print_result(result)
    if truncated:
        err.print(f"[yellow]only the first {limit} rows; raise --limit for more[/]")


def _printable(table: pa.Table) -> pa.Table:
    """Nested columns (lists of objects) as JSON text, so any result can be written as CSV."""
    columns = []
    for name in table.column_names:
        column = table.column(name)
        if pa.types.is_nested(column.type):
            column = pa.array(
                [None if v is None else json.dumps(v, default=str) for v in column.to_pylist()],
                pa.string(),
            )
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def _lake(data: Path) -> Lake:
    settings = settings_of(data)
    if not settings.lake_path.is_dir():
        raise fail(f"no event lake at {settings.lake_path}; run `vigil init --data {data}` first")
    return Lake(settings.lake_path)


@lake_app.command("verify")
def lake_verify(data: DataOption = DEFAULT_DATA) -> None:
    """Read every Parquet file's footer; list the ones that cannot be read."""
    lake = _lake(data)
    files = sum(1 for _ in lake.files())
    broken = lake.verify()
    for item in broken:
        err.print(f"[red]unreadable[/] {item.path}: {item.reason}", highlight=False, soft_wrap=True)
    if broken:
        raise typer.Exit(1)
    out.print(f"{files} Parquet files, all readable.")


def _print_result(result: QueryResult, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    out.print(table)
    out.print(f"[dim]{len(result.rows)} row(s)[/]")


INGEST_WORDS = {"status", "formats", "serve"}


@app.command()
def ingest(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Files or folders to import; or `status` (per-source totals and dead letters), "
            "`formats` (the parsers) or `serve` (run the --config connectors until Ctrl-C)."
        ),
    ],
    data: DataOption = DEFAULT_DATA,
    format_name: Annotated[
        str | None,
        typer.Option("--format", "-f", help="Parser to use (default: detect per file)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Connectors YAML for `serve`.")
    ] = None,
) -> None:
    """Import telemetry files into the lake; bad records become dead letters, never stop it."""
    if paths[0] in INGEST_WORDS and not Path(paths[0]).exists():
        if len(paths) > 1:
            raise fail(f"`vigil ingest {paths[0]}` takes no paths")
        if paths[0] == "formats":
            _print_formats()
        elif paths[0] == "serve":
            _serve_connectors(data, config)
        else:
            _print_ingest_status(data)
        return
    if format_name is not None and format_name not in parsers.names():
        raise fail(f"unknown format {format_name!r}; known: {', '.join(parsers.names())}")
    settings = settings_of(data)
    if not settings.lake_path.is_dir():
        raise fail(f"no event lake at {settings.lake_path}; run `vigil init --data {data}` first")
    enricher = Enricher(estate_of(settings.estate_path)) if settings.estate_path.exists() else None
    database = open_database(settings)
    ingestor = Ingestor(Lake(settings.lake_path), database, enricher)
    try:
        total, failed = _ingest_paths([Path(p) for p in paths], ingestor, format_name)
    except (IngestError, StoreError) as error:
        raise fail(str(error)) from error
    finally:
        database.close()
    out.print(
        f"Total: {total.records:,} records, {total.total_events:,} events "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(total.events.items())) or 'none'}), "
        f"{total.rejected:,} rejected, {total.skipped:,} skipped, "
        f"{total.pans_masked:,} card numbers masked."
    )
    if total.rejected:
        out.print(f"Dead letters: `vigil ingest status --data {data}`")
    if failed:
        raise typer.Exit(1)


def _serve_connectors(data: Path, config: Path | None) -> None:
    """`vigil ingest serve`: run the connectors, printing per-source counts every 10 s."""
    from vigil.ingest import serve

    if config is None:
        raise fail("`vigil ingest serve` needs --config connectors.yaml")
    settings = settings_of(data)
    if not settings.lake_path.is_dir():
        raise fail(f"no event lake at {settings.lake_path}; run `vigil init --data {data}` first")
    from vigil.cli_respond import live_responder
    from vigil.console.detections.rules import active_rules
    from vigil.correlate import service
    from vigil.detect.engine import Engine
    from vigil.detect.live import LiveDetection
    from vigil.respond.live import LiveResponse

    estate = estate_of(settings.estate_path) if settings.estate_path.exists() else None
    database = open_database(settings)
    respond = LiveResponse(
        database, service.start(database, estate), live_responder(data, database, estate)
    )
    live = LiveDetection(Engine(active_rules(database), estate), database, then=respond)
    ingestor = Ingestor(
        Lake(settings.lake_path),
        database,
        Enricher(estate) if estate is not None else None,
        observe=live,
    )
    try:
        running = serve.build(serve.load_connectors(config), ingestor)
        out.print(
            f"Serving {len(running)} connector(s), detecting with the retail pack, folding "
            "incidents and starting their playbooks; Ctrl-C stops."
        )
        totals = serve.serve_forever(
            running,
            lambda reports: out.print(
                f"{serve.summary(reports)}; {live.alerts} alert(s), {live.late} late, "
                f"{len(respond.incidents)} incident(s), {respond.runs} playbook run(s)"
            ),
        )
    except (IngestError, StoreError, OSError) as error:
        raise fail(str(error)) from error
    finally:
        database.close()
    out.print(
        f"Stopped. {serve.summary(totals)}; {live.alerts} alert(s) stored, "
        f"{len(respond.incidents)} incident(s), {respond.runs} playbook run(s)."
    )


def _ingest_paths(
    paths: list[Path], ingestor: Ingestor, format_name: str | None
) -> tuple[ChunkReport, bool]:
    """Import each path with a progress bar over bytes; (totals, whether a file was skipped)."""
    total = ChunkReport("total", format_name or "auto")
    failed = False
    sizes = [_size(path) for path in paths]
    with Progress(
        TextColumn("[bold]ingest[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as progress:
        task = progress.add_task("bytes", total=sum(sizes))
        for path in paths:
            report = import_path(path, ingestor, format_name, lambda n: progress.advance(task, n))
            for name, file_report in report.files.items():
                total.add(file_report)
                out.print(
                    f"{name}: {file_report.format}, {file_report.records:,} records, "
                    f"{file_report.total_events:,} events, {file_report.rejected:,} rejected",
                    highlight=False,
                    soft_wrap=True,
                )
            for reason in report.unrecognised.values():
                err.print(f"[yellow]skipped[/] {reason}", highlight=False, soft_wrap=True)
                failed = True
    return total, failed


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())
    raise fail(f"{path}: no such file or folder")


def _print_formats() -> None:
    table = Table("format", "framing", "event classes", "what")
    for name, cls in parsers.items():
        classes = ", ".join(sorted({c.CLASS_NAME.rsplit("/", 1)[-1] for c in cls.event_classes}))
        if len(cls.event_classes) > 4:
            classes = "any"
        table.add_row(name, cls.framing, classes, cls.description)
    out.print(table)


def _print_ingest_status(data: Path) -> None:
    settings = settings_of(data)
    database = open_database(settings)
    try:
        sources, letters = ingest_status(database)
    finally:
        database.close()
    table = Table("source", "format", "records", "events", "rejected", "PANs masked", "last")
    for row in sources:
        table.add_row(
            row.source,
            row.format,
            f"{row.records:,}",
            f"{row.events:,}",
            f"{row.rejected:,}",
            f"{row.pans_masked:,}",
            row.last_at.isoformat(timespec="seconds"),
        )
    out.print(table)
    if letters:
        recent = Table(
            "source", "position", "reason", title="Latest dead letters", title_justify="left"
        )
        for letter in letters:
            recent.add_row(letter.source, letter.position or "", letter.reason)
        out.print(recent)
    else:
        out.print("No dead letters.")


@app.command()
def demo(
    data: DataOption = Path(".vigil-demo"),
    fresh: Annotated[bool, typer.Option(help="Start from an empty data folder.")] = True,
) -> None:
    """Run what Vigil has end to end on the sample estate and sample telemetry."""
    if fresh and data.exists():
        shutil.rmtree(data)
    settings = _initialise(data)
    estate = estate_of(settings.estate_path)
    _print_estate(estate)

    sample = resources.files("vigil.events").joinpath("samples/sample_events.ndjson")
    data_bytes = sample.read_bytes()
    database = open_database(settings)
    lake = Lake(settings.lake_path)
    ingestor = Ingestor(lake, database, Enricher(estate))
    with Progress(
        TextColumn("[bold]ingest[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
    ) as progress:
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
            _print_result(lake.query(sql), title)
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
    _print_result(
        QueryResult(result.columns, closed, result.table.slice(0, 0)),
        "Physical events while the store was closed",
    )


@app.command()
def sim(
    output_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the telemetry and ground truth.")
    ] = Path("sim-out"),
    stores: Annotated[
        int | None, typer.Option(min=1, max=4096, help="Generate an estate of N stores.")
    ] = None,
    estate_file: Annotated[
        Path | None, typer.Option("--estate", help="Estate YAML (instead of --stores).")
    ] = None,
    days: Annotated[float, typer.Option(min=0.01, max=366, help="Simulated days.")] = 1.0,
    start: Annotated[
        str, typer.Option(help="Start of simulated time (ISO 8601, UTC if no offset).")
    ] = "2026-11-23T08:00:00Z",
    seed: Annotated[int, typer.Option(help="Same seed, same bytes.")] = 7,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="Inject only these (repeatable); default: all."),
    ] = None,
    list_scenarios: Annotated[
        bool, typer.Option("--list-scenarios", help="List scenarios and exit.")
    ] = False,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            help="Also stream to this sink (repeatable): file:DIR, syslog+udp://HOST:PORT, "
            "syslog+tcp://HOST:PORT, http://HOST:PORT/PATH, mqtt://HOST:PORT; "
            "?sources=a,b limits it.",
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(
            min=0.001,
            help="Stream at this many simulated seconds per second (3600: an hour a second).",
        ),
    ] = None,
) -> None:
    """Simulate a retail estate: raw telemetry per source, with attacks, fraud and ground truth."""

    if list_scenarios:
        table = Table("scenario", "label", "what happens")
        for name, scenario_class in scenarios.items():
            table.add_row(name, scenario_class.label, scenario_class.description)
        out.print(table)
        return
    if estate_file is not None and stores is not None:
        raise fail("give --stores or --estate, not both")
    if speed is not None and not to:
        raise fail("--speed paces streaming: give a sink with --to")
    estate = (
        estate_of(estate_file) if estate_file is not None else generate_estate(stores or 20, seed)
    )
    try:
        moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError as error:
        raise fail(f"--start {start!r} is not an ISO 8601 time") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        chosen = [scenarios.get(name)() for name in (scenario or scenarios.names())]
        world = World(estate, moment, days, seed)
        with Progress(
            TextColumn("[bold]sim[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=out,
        ) as progress:
            task = progress.add_task("sources", total=len(sources.names()))
            result = simulate(
                world,
                chosen,
                output_dir,
                progress=lambda name: progress.advance(task),
                timeline=bool(to),
            )
        if to and result.timeline is not None:
            paths = {name: cls.path for name, cls in sources.items()}
            sinks = [open_sink(url, paths, result.headers) for url in to]
            pace = f"at {speed:g}x" if speed else "as fast as the sinks take it"
            out.print(f"Streaming {result.events:,} lines to {', '.join(to)} {pace} ...")
            played = stream(result.timeline, sinks, world.span.start, speed)
            out.print(f"Streamed {played.lines:,} lines in {played.seconds:.1f} s.")
    except (PluginNotFoundError, SimError) as error:
        raise fail(str(error)) from error
    table = Table(
        "source",
        "file",
        "events",
        "bytes",
        "bytes/event",
        title=f"{len(estate.stores)} stores, {days:g} days, seed {seed}",
        title_justify="left",
    )
    for name, count in sorted(result.counts.items()):
        size = result.bytes[name]
        table.add_row(
            name,
            sources.get(name).path,
            f"{count:,}",
            f"{size:,}",
            f"{size / count:.0f}" if count else "-",
        )
    out.print(table)
    out.print(
        f"{result.events:,} events in {result.seconds:.1f} s ({result.events / result.seconds:,.0f}/s); "
        f"{len(result.truth)} scenario instances in {output_dir / 'truth.jsonl'}"
    )


def main() -> None:  # pragma: no cover - console script entry point
    app()
