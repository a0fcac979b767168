from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text, update

from vigil.store.database import Database, sqlite_url
from vigil.store.errors import AuditChainBrokenError, DatabaseUnavailableError
from vigil.store.models import AuditEntry, Base, Incident

POSTGRES_URL = os.environ.get(
    "VIGIL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = Database.open(sqlite_url(tmp_path))
    yield database
    database.close()


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


def _check_schema_and_audit(database: Database) -> None:
    assert database.revision() == Database.head_revision()
    with database.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], "models and migrations disagree"
    database.audit("ana", "incident.assign", "inc-1", {"to": "ben"})
    database.audit("ben", "incident.close", "inc-1", {"verdict": "true_positive"})
    assert database.verify_audit() == 2
    now = datetime.now(UTC)
    with database.session() as session:
        session.add(
            Incident(uid="inc-1", opened_at=now, updated_at=now, title="No-sale burst", risk=71.5)
        )
    with database.session() as session:
        incident = session.get(Incident, "inc-1")
        assert incident is not None
        assert incident.risk == 71.5


def test_sqlite_migrates_and_keeps_an_audit_chain(sqlite_db: Database) -> None:
    _check_schema_and_audit(sqlite_db)


@pytest.mark.postgres
def test_postgres_migrates_and_keeps_an_audit_chain(postgres_db: Database) -> None:
    assert postgres_db.engine.dialect.name == "postgresql"
    _check_schema_and_audit(postgres_db)


def test_reopening_is_idempotent(tmp_path: Path) -> None:
    first = Database.open(sqlite_url(tmp_path))
    first.audit("cli", "init")
    first.close()
    second = Database.open(sqlite_url(tmp_path))
    assert second.verify_audit() == 1
    second.close()


def test_tampering_with_the_audit_log_is_detected(sqlite_db: Database) -> None:
    for index in range(3):
        sqlite_db.audit("ana", f"action-{index}")
    with sqlite_db.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.id == 2).values(actor="mallory"))
    with pytest.raises(AuditChainBrokenError, match="entry 2"):
        sqlite_db.verify_audit()


@pytest.mark.parametrize(
    ("deleted", "message"),
    [(2, "entry 3"), (3, "newest were removed")],
    ids=["from-the-middle", "the-newest"],
)
def test_deleting_an_audit_entry_is_detected(
    sqlite_db: Database, deleted: int, message: str
) -> None:
    for index in range(3):
        sqlite_db.audit("ana", f"action-{index}")
    with sqlite_db.session() as session:
        session.delete(session.scalars(select(AuditEntry).where(AuditEntry.id == deleted)).one())
    with pytest.raises(AuditChainBrokenError, match=message):
        sqlite_db.verify_audit()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            "cannot reach the database at postgresql+psycopg://nobody@127.0.0.1:1/none",
        ),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/none", "u:***@127.0.0.1"),
        ("not a url", "invalid database URL"),
        ("nosuchdb://x/y", "invalid database URL"),
        ("sqlite:////nonexistent-dir/x/vigil.db", "cannot reach the database"),
    ],
)
def test_unreachable_database_gets_a_clear_error(url: str, message: str) -> None:
    with pytest.raises(DatabaseUnavailableError) as caught:
        Database.open(url)
    assert message in str(caught.value)
    assert "secret" not in str(caught.value)


def _concurrent_audits(database: Database) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: database.audit(f"worker-{n % 8}", "write", str(n)), range(64)))
    assert database.verify_audit() == 64


def test_concurrent_writers_keep_one_chain_sqlite(sqlite_db: Database) -> None:
    _concurrent_audits(sqlite_db)


@pytest.mark.postgres
def test_concurrent_writers_keep_one_chain_postgres(postgres_db: Database) -> None:
    _concurrent_audits(postgres_db)
