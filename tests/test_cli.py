from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vigil import __version__
from vigil.cli import app
from vigil.estate import sample_estate_text

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("demo") / "data"
    result = runner.invoke(app, ["demo", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "Stored 697 events" in result.output
    assert "0 rejected" in result.output
    assert "hash chain verified" in result.output
    return data


def test_demo_folds_alerts_into_incidents_and_plans_the_response(demo_dir: Path) -> None:
    result = runner.invoke(app, ["incidents", "list", "--data", str(demo_dir)])
    assert result.exit_code == 0, result.output
    assert "3 incident(s)" in result.output
    result = runner.invoke(app, ["demo", "--data", str(demo_dir)])
    assert "alert(s) folded into 3 incident(s)" in result.output
    assert "would wait for approval: quarantine_device" in result.output


def test_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "demo", "query", "estate", "version"):
        assert command in result.output


def test_init_creates_a_data_folder(data_dir: Path) -> None:
    result = runner.invoke(app, ["init", "--data", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert (data_dir / "vigil.yaml").exists()
    assert (data_dir / "estate.yaml").read_text() == sample_estate_text()
    assert (data_dir / "vigil.db").exists()
    again = runner.invoke(app, ["init", "--data", str(data_dir)])
    assert again.exit_code == 0


def test_demo_finds_what_was_planted(demo_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "query",
            "--data",
            str(demo_dir),
            'SELECT "cashier.name", count(*) FROM pos_transaction WHERE activity_id = 5 GROUP BY ALL',
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ladeyemi" in result.output
    assert "│ 6 " in result.output


def test_query_refuses_writes_with_a_clear_error(demo_dir: Path) -> None:
    result = runner.invoke(app, ["query", "--data", str(demo_dir), "DROP VIEW pos_transaction"])
    assert result.exit_code == 1
    assert "only SELECT queries are allowed" in result.output


def test_query_on_corrupt_lake_names_the_file(tmp_path: Path, demo_dir: Path) -> None:
    import shutil

    data = tmp_path / "copy"
    shutil.copytree(demo_dir, data)
    victim = next((data / "lake" / "door_access").rglob("*.parquet"))
    victim.write_bytes(b"garbage")
    result = runner.invoke(app, ["query", "--data", str(data), "SELECT count(*) FROM door_access"])
    assert result.exit_code == 1
    assert victim.name in result.output.replace("\n", "")
    ok = runner.invoke(app, ["query", "--data", str(data), "SELECT count(*) FROM pos_transaction"])
    assert ok.exit_code == 0


def test_estate_validate(tmp_path: Path) -> None:
    good = tmp_path / "estate.yaml"
    good.write_text(sample_estate_text())
    result = runner.invoke(app, ["estate", "validate", str(good)])
    assert result.exit_code == 0
    assert "4 stores" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(sample_estate_text().replace("America/Chicago", "America/Atlantis", 1))
    result = runner.invoke(app, ["estate", "validate", str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.output
    assert "unknown time zone 'America/Atlantis'" in result.output


def test_unreachable_database_url_fails_cleanly(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIGIL_DATABASE_URL", "postgresql+psycopg://vigil:hunter2@127.0.0.1:1/vigil")
    result = runner.invoke(app, ["init", "--data", str(data_dir)])
    assert result.exit_code == 1
    assert "cannot reach the database" in result.output
    assert "hunter2" not in result.output


def test_bad_config_file_fails_cleanly(data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    (data_dir / "vigil.yaml").write_text("version: 1\nlake: {path: lake, colour: red}\n")
    result = runner.invoke(app, ["query", "--data", str(data_dir), "SELECT 1"])
    assert result.exit_code == 1
    assert "lake.colour" in result.output
    (data_dir / "vigil.yaml").write_text("version: [1\n")
    result = runner.invoke(app, ["query", "--data", str(data_dir), "SELECT 1"])
    assert result.exit_code == 1
    assert "malformed YAML" in result.output


def test_query_without_a_data_folder_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["query", "--data", str(tmp_path / "nowhere"), "SELECT 1"])
    assert result.exit_code == 1
    assert "vigil init" in result.output


def test_query_formats_and_truncation(demo_dir: Path) -> None:
    sql = 'SELECT "transaction.uid" AS uid, line_items FROM pos_transaction WHERE activity_id = 1 ORDER BY uid'
    result = runner.invoke(
        app, ["query", "--data", str(demo_dir), "--format", "csv", "--limit", "3", sql]
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == '"uid","line_items"'
    assert len(lines) == 4
    assert "only the first 3 rows" in result.stderr
    result = runner.invoke(
        app, ["query", "--data", str(demo_dir), "-f", "json", "--limit", "2", sql]
    )
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 2
    assert rows[0]["line_items"][0]["sequence"] == 1


def test_lake_verify(tmp_path: Path, demo_dir: Path) -> None:
    import shutil

    assert runner.invoke(app, ["lake", "verify", "--data", str(demo_dir)]).exit_code == 0
    data = tmp_path / "copy"
    shutil.copytree(demo_dir, data)
    victim = next((data / "lake" / "pos_transaction").rglob("*.parquet"))
    victim.write_bytes(b"PAR1")
    result = runner.invoke(app, ["lake", "verify", "--data", str(data)])
    assert result.exit_code == 1
    assert victim.name in result.output.replace("\n", "")


def test_progress_bar_shows_the_stage_task_and_count() -> None:
    from rich.console import Console

    from vigil.cli_support import progress_bar

    console = Console(record=True, width=80, color_system=None)
    with progress_bar("sim", console) as progress:
        task = progress.add_task("sources", total=3)
        progress.advance(task, 3)
    text = console.export_text()
    assert text.startswith("sim sources ")
    assert " 3/3 " in text
