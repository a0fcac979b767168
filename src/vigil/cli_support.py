"""What every `vigil` command module shares: the consoles, the error exit, opening the data folder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vigil.config import ConfigError, Settings, load_settings
from vigil.estate import Estate, EstateFileError, load_estate
from vigil.store.database import Database
from vigil.store.errors import StoreError

out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error and return the exit to raise: `raise fail("no lake")`."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


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
