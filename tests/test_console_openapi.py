"""The OpenAPI document: generated from the code, committed at docs/openapi.json, and the
same as the code's (regenerate with `vigil console openapi --output docs/openapi.json`)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vigil.cli_console import app as console_cli
from vigil.cli_console import openapi_text

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"


def test_the_committed_document_is_the_codes() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_text(), (
        "docs/openapi.json is stale: run `vigil console openapi --output docs/openapi.json`"
    )


def test_the_cli_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = CliRunner().invoke(console_cli, ["openapi", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == openapi_text()


def test_every_operation_says_what_it_does_and_answers_json_errors() -> None:
    document = json.loads(openapi_text())
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    assert all(path.startswith("/api/") for path, _, _ in operations)
    assert len(operations) >= 30
    for path, method, operation in operations:
        assert operation.get("description") or operation.get("summary"), (method, path)
    schemas = document["components"]["schemas"]
    assert {"IncidentSummaryRead", "IncidentDetailRead", "ApprovalRead", "StoreRead"} <= set(
        schemas
    )
    assert set(schemas["IncidentSummaryRead"]["properties"]) == {
        "uid", "title", "status", "risk", "risk_level", "use_case", "stores", "alerts",
        "opened_at", "updated_at", "assignee", "verdict",
    }  # fmt: skip
