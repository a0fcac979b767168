from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vigil.events import OcsfEvent, parse_event


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
