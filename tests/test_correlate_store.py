"""Incidents in the operational database, the `vigil incidents` commands, and compression."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text
from typer.testing import CliRunner

from correlate_helpers import at, make_alert, two_incidents_about_to_merge
from vigil.cli_incidents import app
from vigil.correlate import (
    CorrelateConfig,
    Correlator,
    IncidentStateError,
    IncidentStatus,
    UnknownIncidentError,
    compress,
    service,
)
from vigil.detect.sink import store_alerts
from vigil.detect.types import Alert
from vigil.estate import sample_estate_text
from vigil.store.database import Database, _alembic_config, sqlite_url
from vigil.store.models import Alert as AlertRow
from vigil.store.models import AuditEntry
from vigil.store.models import Incident as IncidentRow

POSTGRES_URL = os.environ.get(
    "VIGIL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TILL = {"store": "031", "device": "s031-pos-01"}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(sqlite_url(tmp_path))
    yield database
    database.close()


def _campaign() -> list[Alert]:
    return [
        make_alert("pos.new_destination", 0, {**TILL, "ip": "203.0.113.9"}, severity="critical"),
        make_alert("pos.exfil", 30, TILL, attack=("T1041",), severity="critical"),
        make_alert("pos.exfil", 50, TILL, attack=("T1041",), severity="critical"),  # a repeat
        make_alert("net.guest_scan", 10, {"store": "031", "ip": "10.31.30.44"}, severity="low"),
        make_alert("pos.voids", 5, {"store": "044", "cashier": "044002"}, severity="medium"),
    ]


def _rows(database: Database) -> dict[str, str | None]:
    with database.session() as session:
        rows = session.execute(select(AlertRow.uid, AlertRow.incident_uid)).all()
    return {row.uid: row.incident_uid for row in rows}


def test_migration_0004_downgrades_and_upgrades(tmp_path: Path) -> None:
    database = Database.open(sqlite_url(tmp_path), migrate=False)
    config = _alembic_config()

    def incident_columns() -> set[str]:
        return {column["name"] for column in inspect(database.engine).get_columns("incidents")}

    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            command.downgrade(config, "0003")
        assert database.revision() == "0003"
        assert "last_seen" not in incident_columns()
        assert not inspect(database.engine).has_table("incident_alerts")
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
        assert database.revision() == "0004"
        assert {"last_seen", "risk_parts", "merged_into", "dwell_s"} <= incident_columns()
        assert inspect(database.engine).has_table("incident_entities")
    finally:
        database.close()


def test_correlating_stored_alerts_and_loading_them_back(database: Database) -> None:
    alerts = _campaign()
    store_alerts(database, alerts)
    run = service.correlate_stored(database)
    assert (run.alerts, run.opened, run.duplicates, run.incidents) == (5, 3, 1, 3)
    assert None not in _rows(database).values()
    expected = {i.uid: i for i in Correlator().update(alerts).incidents}
    loaded = service.load(database, sorted(expected))
    assert [i.uid for i in loaded] == sorted(expected)
    for incident in loaded:
        want = expected[incident.uid]
        assert incident.alerts == want.alerts
        assert incident.entities == want.entities
        assert incident.notes == want.notes
        assert (incident.first_seen, incident.last_seen, incident.stores) == (
            want.first_seen,
            want.last_seen,
            want.stores,
        )
        assert incident.risk.score == want.risk.score
        assert incident.risk.explanation == want.risk.explanation
        assert [p.name for p in incident.risk.parts] == [p.name for p in want.risk.parts]
    top = service.list_incidents(database)[0]
    assert top.stores == ("031",)
    assert top.evidence_count == 3
    with database.session() as session:
        row = session.get(IncidentRow, top.uid)
        assert row is not None
        assert (row.alert_count, row.evidence_count, row.severity_id) == (2, 3, 5)
        assert row.time_to_detect_s == 60.0


def test_saving_is_idempotent_and_a_second_run_finds_nothing_new(database: Database) -> None:
    store_alerts(database, _campaign())
    changes = Correlator().update(service.read_alerts(database))
    service.save(database, changes)
    first = service.load(database, [i.uid for i in changes.incidents])
    service.save(database, changes)
    assert service.load(database, [i.uid for i in changes.incidents]) == first
    assert service.correlate_stored(database).alerts == 0


def test_later_alerts_join_the_stored_incidents(database: Database) -> None:
    store_alerts(database, _campaign()[:2])
    service.correlate_stored(database)
    [till] = service.list_incidents(database)
    store_alerts(database, [make_alert("pos.exfil", 50, TILL, attack=("T1041",))])
    run = service.correlate_stored(database)
    assert (run.opened, run.duplicates) == (0, 1)
    [again] = service.list_incidents(database)
    assert again.uid == till.uid
    assert again.evidence_count == 3


def test_a_restarted_pipeline_takes_up_the_stored_incidents(database: Database) -> None:
    assert service.start(database).incidents() == []
    first = _campaign()[:2]
    store_alerts(database, first)
    service.fold(database, service.start(database), first)
    correlator = service.start(database)  # as after a restart
    assert [i.uid for i in correlator.incidents()] == [
        i.uid for i in service.list_incidents(database)
    ]
    repeat = make_alert("pos.exfil", 50, TILL, attack=("T1041",))
    store_alerts(database, [repeat])
    changes = service.fold(database, correlator, [*first, repeat])  # a replayed batch too
    assert (changes.repeated, changes.duplicates, changes.opened) == (2, 1, 0)
    assert set(_rows(database).values()) == {correlator.incidents()[0].uid}


def test_merges_are_stored_as_pointers(database: Database) -> None:
    first, second = two_incidents_about_to_merge(database)
    run = service.correlate_stored(database)
    assert run.merged == 1
    [merged] = service.list_incidents(database)
    assert merged.uid == first.uid
    assert merged.stores == ("031", "044")
    assert second.uid in merged.merged_from
    [pointer] = service.list_incidents(database, [IncidentStatus.MERGED])
    assert (pointer.uid, pointer.merged_into, pointer.alerts) == (second.uid, first.uid, ())
    assert set(_rows(database).values()) == {first.uid}


def test_a_closed_incident_reopens_in_the_database(database: Database) -> None:
    store_alerts(database, [make_alert("r.a", 0, TILL)])
    service.correlate_stored(database)
    [incident] = service.list_incidents(database)
    closed = service.set_status(
        database, incident.uid[:10], IncidentStatus.CLOSED, actor="ana", at=at(20)
    )
    assert closed.status is IncidentStatus.CLOSED
    assert closed.closed_at is not None
    store_alerts(database, [make_alert("r.b", 90, TILL)])
    run = service.correlate_stored(database)
    assert run.reopened == 1
    reopened = service.get(database, incident.uid)
    assert reopened.status is IncidentStatus.REOPENED
    assert [n.kind.value for n in reopened.notes] == ["opened", "status", "reopened"]
    assert "Status set to closed by ana" in reopened.notes[1].text
    with database.session() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "incident.status")
        ).one()
    assert entry.detail == {"from": "new", "to": "closed"}


def test_people_own_the_status(database: Database) -> None:
    store_alerts(database, [make_alert("r.a", 0, TILL)])
    service.correlate_stored(database)
    [incident] = service.list_incidents(database)
    service.set_status(database, incident.uid, IncidentStatus.ACKNOWLEDGED, actor="ben")
    store_alerts(database, [make_alert("r.b", 10, TILL)])
    service.correlate_stored(database)
    kept = service.get(database, incident.uid)
    assert kept.status is IncidentStatus.ACKNOWLEDGED
    assert kept.acknowledged_at is not None
    assert len(kept.alerts) == 2


def test_lookup_errors(database: Database) -> None:
    with pytest.raises(UnknownIncidentError, match="no incident matching 'inc-x'"):
        service.get(database, "inc-x")
    store_alerts(database, _campaign())
    service.correlate_stored(database)
    with pytest.raises(UnknownIncidentError, match="several incidents matching 'inc-'"):
        service.get(database, "inc-")
    uid = service.list_incidents(database)[0].uid
    with pytest.raises(IncidentStateError, match="merged by the correlator"):
        service.set_status(database, uid, IncidentStatus.MERGED, actor="ana")


def test_alerts_come_back_from_their_stored_findings(database: Database) -> None:
    original = make_alert(
        "pos.exfil",
        30,
        {**TILL, "card": "411111******1234"},
        attack=("T1041", "T1071.001"),
        span=12,
    )
    store_alerts(database, [original])
    [back] = service.read_alerts(database)
    assert back.uid == original.uid
    assert back.entities == original.entities
    assert (back.time, back.first_seen) == (original.time, original.first_seen)
    assert back.rule.attack == original.rule.attack
    assert (back.rule.uid, back.rule.severity, back.rule.use_case) == (
        "pos.exfil",
        original.rule.severity,
        "exfil",
    )
    assert back.score == original.score


def test_compression_counts_alerts_per_incident_and_per_label() -> None:
    alerts = _campaign()
    labels = {
        alerts[0].uid: "pos_malware",
        alerts[1].uid: "pos_malware",
        alerts[4].uid: "till_fraud",
    }
    result = compress(alerts, labels=labels, batch=2)
    assert (result.alerts, result.incidents, result.duplicates, result.mixed) == (5, 3, 1, 0)
    assert result.ratio == pytest.approx(5 / 3)
    rows = {row.group: (row.alerts, row.incidents) for row in result.rows}
    assert rows == {"pos_malware": (2, 1), "till_fraud": (1, 1), "false": (2, 2)}
    table = result.table()
    assert "5 alerts -> 3 incidents (1.67 alerts per incident)" in table
    glued = compress(alerts, labels={alerts[0].uid: "a", alerts[2].uid: "b"})
    assert glued.mixed == 1


# --- the CLI -----------------------------------------------------------------------------


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "estate.yaml").write_text(sample_estate_text())
    database = Database.open(sqlite_url(folder))
    store_alerts(database, _campaign())
    database.close()
    return folder


def test_cli_correlate_list_show_export_verify(data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["correlate", "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "5 alert(s): 3 incident(s) opened" in result.output
    listed = runner.invoke(app, ["list", "--data", str(data)], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert "3 incident(s)" in listed.output
    database = Database.open(sqlite_url(data))
    top = service.list_incidents(database)[0]
    database.close()
    shown = runner.invoke(app, ["show", top.uid[:12], "--data", str(data)], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert "Risk parts" in shown.output
    assert "store 031 closed" in shown.output
    assert "Timeline" in shown.output
    assert "0 of 0 related event(s)" in shown.output
    as_json = runner.invoke(app, ["show", top.uid, "--json", "--data", str(data)])
    assert json.loads(as_json.output)["uid"] == top.uid
    bundle = tmp_path / "bundle"
    exported = runner.invoke(
        app, ["export", top.uid, str(bundle), "--data", str(data), "--actor", "ana"]
    )
    assert exported.exit_code == 0, exported.output
    assert len(json.loads((bundle / "alerts.json").read_text())) == 3  # the repeat too
    verified = runner.invoke(app, ["verify", str(bundle), "--data", str(data)])
    assert verified.exit_code == 0, verified.output
    assert "exported by ana" in verified.output
    (bundle / "incident.json").write_text("{}")
    tampered = runner.invoke(app, ["verify", str(bundle), "--data", str(data)])
    assert tampered.exit_code == 1
    assert "incident.json: changed since export" in tampered.output


def test_cli_status_compression_and_errors(data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["correlate", "--data", str(data)])
    missing = runner.invoke(app, ["show", "inc-nope", "--data", str(data)])
    assert missing.exit_code == 1
    assert "no incident matching 'inc-nope'" in missing.output
    database = Database.open(sqlite_url(data))
    uid = service.list_incidents(database)[0].uid
    database.close()
    closed = runner.invoke(app, ["status", uid, "closed", "--data", str(data), "--actor", "ana"])
    assert closed.exit_code == 0, closed.output
    assert f"{uid}: closed" in closed.output
    listed = runner.invoke(app, ["list", "--status", "closed", "--data", str(data)])
    assert "1 incident(s)" in listed.output
    squeezed = runner.invoke(app, ["compression", "--data", str(data)], terminal_width=200)
    assert squeezed.exit_code == 0, squeezed.output
    assert "5 alerts -> 3 incidents (1.67 alerts per incident)" in squeezed.output
    truth = tmp_path / "truth.jsonl"
    truth.write_text(
        json.dumps(
            {
                "scenario": "pos_malware",
                "uid": "t1",
                "label": "attack",
                "start": "2026-11-23T10:50:00Z",
                "end": "2026-11-23T12:00:00Z",
                "stores": ["031"],
                "entities": {"device": ["s031-pos-01"]},
            }
        )
        + "\n"
    )
    scored = runner.invoke(
        app, ["compression", "--truth", str(truth), "--data", str(data)], terminal_width=200
    )
    assert scored.exit_code == 0, scored.output
    assert "pos_malware" in scored.output
    exists = tmp_path / "full"
    exists.mkdir()
    (exists / "x").write_text("x")
    refused = runner.invoke(app, ["export", uid, str(exists), "--data", str(data)])
    assert refused.exit_code == 1
    assert "refusing to overwrite" in refused.output


# --- PostgreSQL --------------------------------------------------------------------------


@pytest.fixture
def postgres_db() -> Iterator[Database]:
    schema = f"vigil_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database.open(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield database
    finally:
        database.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.postgres
def test_postgres_stores_and_restores_incidents(postgres_db: Database) -> None:
    store_alerts(postgres_db, _campaign())
    run = service.correlate_stored(postgres_db, config=CorrelateConfig())
    assert (run.alerts, run.opened) == (5, 3)
    stored = service.list_incidents(postgres_db)
    assert {len(i.alerts) for i in stored} == {1, 2}
    store_alerts(postgres_db, [make_alert("pos.exfil", 70, TILL)])
    assert service.correlate_stored(postgres_db).duplicates == 1
