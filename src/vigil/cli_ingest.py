"""`vigil ingest`: import files and folders, run the connectors, show per-source status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

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
from vigil.ingest.files import files_under
from vigil.ingest.pipeline import DETECTION_SOURCES, ChunkReport, IngestStatus
from vigil.store.errors import StoreError
from vigil.store.lake import Lake

INGEST_WORDS = {"status", "formats", "serve"}
RAW_SHOWN = 60
"""Characters of a dead letter's raw record `vigil ingest status` shows."""


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
    source: Annotated[
        str | None,
        typer.Option(
            "--source",
            "-s",
            help="`status`: list the dead letters of the sources whose name holds this "
            "(`detect:` lists detection's late rows, left out otherwise).",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="`status`: dead letters listed at most.")
    ] = 10,
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
            _print_ingest_status(data, source, limit)
        return
    if source is not None:
        raise fail("--source is for `vigil ingest status`")
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
    """Bytes on disk of the files an import of `path` reads: the progress bar's total."""
    try:
        return sum(file.stat().st_size for file in files_under(path))
    except IngestError as error:
        raise fail(str(error)) from error


def _print_formats() -> None:
    table = Table("format", "framing", "event classes", "what")
    for name, cls in parsers.items():
        classes = ", ".join(sorted({c.CLASS_NAME.rsplit("/", 1)[-1] for c in cls.event_classes}))
        if len(cls.event_classes) > 4:
            classes = "any"
        table.add_row(name, cls.framing, classes, cls.description)
    out.print(table)


def _print_ingest_status(data: Path, source: str | None, limit: int) -> None:
    settings = settings_of(data)
    database = open_database(settings)
    try:
        status = ingest_status(database, limit, source)
    finally:
        database.close()
    out.print(_sources_table(status))
    late = {
        name: count
        for name, count in sorted(status.dead_letters.items())
        if name.startswith(DETECTION_SOURCES)
    }
    if late:
        out.print(
            Text(
                f"Detection refused {sum(late.values()):,} late row(s), kept as dead letters: "
                + ", ".join(f"{name} {count:,}" for name, count in late.items())
                + f"; list them with --source {DETECTION_SOURCES}"
            ),
            soft_wrap=True,
        )
    matching = sum(
        count
        for name, count in status.dead_letters.items()
        if (source in name if source is not None else not name.startswith(DETECTION_SOURCES))
    )
    if not status.letters:
        out.print(f"No dead letters{'' if source is None else f' from a source like {source!r}'}.")
        return
    title = f"Latest dead letters ({len(status.letters):,} of {matching:,}"
    title += ")" if source is None else f", sources like {source!r})"
    recent = Table("at", "source", "position", "reason", "raw", title=title, title_justify="left")
    for letter in status.letters:
        recent.add_row(
            letter.at.isoformat(timespec="seconds"),
            Text(_printable(letter.source)),
            Text(_printable(letter.position or "")),
            Text(_printable(letter.reason)),
            Text(_printable(letter.raw, RAW_SHOWN)),
        )
    out.print(recent)


def _sources_table(status: IngestStatus) -> Table:
    table = Table(
        "source",
        "format",
        "records",
        "events",
        "rejected",
        "dead letters",
        "skipped",
        "recoded",
        "PANs masked",
        "dropped",
        "last",
    )
    for row in status.sources:
        counts = (
            row.records,
            row.events,
            row.rejected,
            status.dead_letters.get(row.source, 0),
            row.skipped,
            row.recoded,
            row.pans_masked,
            row.dropped,
        )
        table.add_row(
            Text(_printable(row.source)),
            Text(row.format),
            *(f"{count:,}" for count in counts),
            row.last_at.isoformat(timespec="seconds"),
        )
    return table


def _printable(text: str, most: int | None = None) -> str:
    """`text` on one line, control characters escaped (`\\n`, `\\x1b`), cut to `most`."""
    shown = "".join(
        c if c.isprintable() else repr(c)[1:-1] for c in text[: (most or len(text)) + 1]
    )
    return shown if most is None or len(shown) <= most else shown[: most - 1] + "…"
