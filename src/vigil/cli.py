"""The `vigil` command."""

from __future__ import annotations

import io
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.csv as pa_csv
import typer

from vigil import __version__
from vigil.cli_console import app as console_app
from vigil.cli_demo import demo_command
from vigil.cli_detect import detect_app, eval_command
from vigil.cli_incidents import app as incidents_app
from vigil.cli_ingest import ingest_command
from vigil.cli_live import live_demo
from vigil.cli_models import app as models_app
from vigil.cli_respond import app as respond_app
from vigil.cli_sim import sim_command
from vigil.cli_support import (
    DEFAULT_DATA,
    DataOption,
    err,
    estate_of,
    fail,
    initialise,
    out,
    print_result,
    settings_of,
)
from vigil.cli_video import app as video_app
from vigil.events.docs import render_markdown
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
app.command("live")(live_demo)
app.command("demo")(demo_command)
app.command("sim")(sim_command)
app.command("ingest")(ingest_command)
app.command("eval")(eval_command)


@app.command()
def version() -> None:
    """Print Vigil's version."""
    out.print(f"vigil {__version__}")


@app.command()
def init(data: DataOption = DEFAULT_DATA) -> None:
    """Create a data folder: configuration, sample estate, database, lake."""
    settings = initialise(data)
    out.print(
        f"Initialised [bold]{data}[/] (database revision {Database.head_revision()}, "
        f"estate {settings.estate_path.name})."
    )


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
        print_result(result)
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


def main() -> None:  # pragma: no cover - console script entry point
    app()
