"""Vigil's configuration: one YAML file in the data folder, loaded into pydantic.

Secrets (a database password, say) come from the environment at start-up:
`VIGIL_DATABASE_URL` overrides `database.url` and is never written to disk.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

CONFIG_FILE = "vigil.yaml"
DATABASE_URL_ENV = "VIGIL_DATABASE_URL"


class ConfigError(Exception):
    """The configuration file is missing, malformed or invalid."""


class DatabaseConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the operational database; SQLite in the data folder if empty.",
    )


class LakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(default="lake", description="Event lake folder, relative to the data folder.")


class Config(BaseModel):
    """The whole configuration of one Vigil installation."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = Field(default=1, description="Format version of this file.")
    estate: str = Field(
        default="estate.yaml", description="Estate file, relative to the data folder."
    )
    database: DatabaseConfig = Field(
        default_factory=DatabaseConfig, description="Operational database."
    )
    lake: LakeConfig = Field(default_factory=LakeConfig, description="Event lake.")


class Settings:
    """A configuration resolved against its data folder and the environment."""

    def __init__(self, data_dir: Path, config: Config) -> None:
        self.data_dir = data_dir
        self.config = config

    @property
    def estate_path(self) -> Path:
        return self.data_dir / self.config.estate

    @property
    def lake_path(self) -> Path:
        return self.data_dir / self.config.lake.path

    @property
    def database_url(self) -> str:
        from_env = os.environ.get(DATABASE_URL_ENV)
        if from_env:
            return from_env
        if self.config.database.url:
            return self.config.database.url
        return f"sqlite:///{(self.data_dir / 'vigil.db').resolve()}"


def load_settings(data_dir: Path) -> Settings:
    """Read `vigil.yaml` in a data folder (defaults if the file does not exist)."""
    path = data_dir / CONFIG_FILE
    if not path.exists():
        return Settings(data_dir, Config())
    try:
        raw = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        return Settings(data_dir, Config.model_validate(raw or {}))
    except YAMLError as error:
        raise ConfigError(f"{path}: malformed YAML: {error}") from error
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()
        )
        raise ConfigError(f"{path}: {problems}") from error


def default_config_text() -> str:
    """The commented configuration `vigil init` writes."""
    return (
        "# Vigil configuration. Paths are relative to this folder.\n"
        "version: 1\n"
        "estate: estate.yaml\n"
        "database:\n"
        "  # SQLite in this folder when empty; or e.g. postgresql+psycopg://host/vigil\n"
        "  # (secrets belong in the VIGIL_DATABASE_URL environment variable)\n"
        "  url: null\n"
        "lake:\n"
        "  path: lake\n"
    )
