from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vigil.events import OcsfEvent, parse_event

if TYPE_CHECKING:
    from vigil.estate import Estate
    from vigil.store.database import Database


def sample_documents() -> list[dict[str, Any]]:
    text = resources.files("vigil.events").joinpath("samples/sample_events.ndjson").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def documents() -> list[dict[str, Any]]:
    return sample_documents()


@pytest.fixture(scope="session")
def sample_events(documents: list[dict[str, Any]]) -> list[OcsfEvent]:
    return [parse_event(document) for document in documents]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


# The estate and the database are imported in the fixtures: a run that asks for neither
# need not load SQLAlchemy and Alembic. A test module's own fixture of the same name wins.


@pytest.fixture(scope="module")
def estate() -> Estate:
    from vigil.estate import load_sample_estate

    return load_sample_estate()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty SQLite file: migrating once per module and copying saves seconds."""
    from vigil.store.database import Database, sqlite_url

    folder = tmp_path_factory.mktemp("template")
    Database.open(sqlite_url(folder)).close()
    return folder / "vigil.db"


@pytest.fixture
def database(template: Path, tmp_path: Path) -> Iterator[Database]:
    """An empty, migrated database of the test's own, in `tmp_path`."""
    from vigil.store.database import Database, sqlite_url

    shutil.copyfile(template, tmp_path / "vigil.db")
    database = Database.open(sqlite_url(tmp_path), migrate=False)
    yield database
    database.close()
