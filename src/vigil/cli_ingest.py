"""`vigil ingest`: import files and folders, run the connectors, show per-source status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import (
    DEFAULT_DATA,
    DataOption,
    err,
    estate_of,
    fail,
    open_database,
    out,
    progress_bar,
    settings_of,
)
from vigil.ingest import IngestError, Ingestor, import_path, ingest_status, parsers
from vigil.ingest.enrich import Enricher
from vigil.ingest.pipeline import ChunkReport
from vigil.store.errors import StoreError
from vigil.store.lake import Lake

INGEST_WORDS = {"status", "formats", "serve"}


def ingest_command(
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
    with progress_bar("ingest", err) as progress:
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
