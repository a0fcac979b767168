"""What every `vigil` command module shares: consoles, progress bar, error exit, data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vigil import __version__
from vigil.config import CONFIG_FILE, ConfigError, Settings, default_config_text, load_settings
from vigil.estate import Estate, EstateFileError, load_estate, sample_estate_text
from vigil.store.database import Database
from vigil.store.errors import StoreError
from vigil.store.lake import QueryResult

out = Console()
err = Console(stderr=True)

DataOption = Annotated[
    Path, typer.Option("--data", "-d", help="Data folder.", envvar="VIGIL_DATA", show_default=True)
]
DEFAULT_DATA = Path("vigil-data")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error and return the exit to raise: `raise fail("no lake")`."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def progress_bar(stage: str, console: Console) -> Progress:
    """The bar every long command shows: `stage` in bold, then the task, bar, count, time.

    >>> with progress_bar("ingest", err) as progress:  # doctest: +SKIP
    ...     task = progress.add_task("bytes", total=size)
    """
    return Progress(
        TextColumn(f"[bold]{stage}[/] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def settings_of(data: Path) -> Settings:
    try:
        return load_settings(data)
    except ConfigError as error:
        raise fail(str(error)) from error


def open_database(settings: Settings) -> Database:
    try:
        return Database.open(settings.database_url)
    except StoreError as error:
        raise fail(str(error)) from error


def estate_of(path: Path) -> Estate:
    try:
        return load_estate(path)
    except EstateFileError as error:
        count = len(error.problems)
        raise fail(f"{count} problem{'s' * (count != 1)} in the estate:\n{error}") from error


def initialise(data: Path) -> Settings:
    """Create (or complete) a data folder: configuration, sample estate, lake, database."""
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


def print_result(result: QueryResult, title: str | None = None) -> None:
    table = Table(title=title, title_justify="left", title_style="bold")
    for column in result.columns:
        table.add_column(column)
    for row in result.rows:
        table.add_row(*("" if value is None else str(value) for value in row))
    out.print(table)
    out.print(f"[dim]{len(result.rows)} row(s)[/]")
