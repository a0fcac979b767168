"""The operational database: alerts, incidents, dead letters, audit log.

SQLite in the data folder by default; PostgreSQL when a URL is given. The schema
is created and upgraded by Alembic migrations, never by `create_all`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from vigil.store.errors import AuditChainBrokenError, DatabaseUnavailableError
from vigil.store.models import AuditEntry, AuditHead

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
PLANNED = ("incidents", "incident_stores")
"""Tables whose SQLite query plans depend on statistics (`refresh_statistics`)."""
ANALYZE_MIN_ROWS = 1000
ANALYZE_GROWTH = 2


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'vigil.db').resolve()}"


def _describe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("vigil.store").joinpath("migrations")
    config.set_main_option("script_location", str(location))
    return config


class Database:
    """A connection to the operational database, migrated to the latest schema."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._statistics_checked: float | None = None
        """`time.monotonic()` of the last `refresh_statistics` check."""

    @classmethod
    def open(cls, url: str, *, migrate: bool = True) -> Database:
        """Connect (failing fast with a clear message) and bring the schema up to date."""
        try:
            engine = create_engine(url, connect_args=_connect_args(url), pool_pre_ping=True)
        except (ArgumentError, NoSuchModuleError) as error:
            raise DatabaseUnavailableError(
                f"invalid database URL {_describe(url)}: {error}"
            ) from error
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except (OperationalError, DBAPIError) as error:
            engine.dispose()
            reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
            raise DatabaseUnavailableError(
                f"cannot reach the database at {_describe(url)}: {reason}"
            ) from error
        database = cls(engine)
        if migrate:
            database.migrate()
            database.refresh_statistics()
        return database

    def migrate(self) -> None:
        """Upgrade the schema to the newest migration."""
        config = _alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def refresh_statistics(self, unless_within: timedelta = timedelta(0)) -> None:
        """ANALYZE (SQLite) the tables in `PLANNED` that have no statistics yet, or have
        grown `ANALYZE_GROWTH` times since they were taken; nothing when the last check
        was less than `unless_within` ago.

        SQLite plans by these statistics and guesses without them: it would read the
        incident queue through the status index and sort every open incident instead of
        walking the risk index until a page is full. Checking reads the highest rowid
        (these tables keep their rows); analysing scans the table's indexes, so it
        happens only as a table grows. Opening checks; a long-lived reader (the console's
        queue) checks again now and then. PostgreSQL keeps its own statistics.
        """
        if self.engine.dialect.name != "sqlite":
            return
        now = time.monotonic()
        last = self._statistics_checked
        if last is not None and now - last < unless_within.total_seconds():
            return
        self._statistics_checked = now
        with self.engine.begin() as connection:
            analysed = _analysed_rows(connection)
            for table in PLANNED:  # names of our own schema, not input
                newest = connection.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar()  # noqa: S608
                rows = int(newest or 0)
                before = analysed.get(table)
                grown = before is None or rows >= before * ANALYZE_GROWTH
                if rows >= ANALYZE_MIN_ROWS and grown:
                    logger.info("analysing %s (%d rows) for the query planner", table, rows)
                    connection.exec_driver_sql(f"ANALYZE {table}")

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    @staticmethod
    def head_revision() -> str | None:
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # -- audit log ---------------------------------------------------------

    def audit(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> AuditEntry:
        """Append an entry to the hash-chained audit log.

        The head row is updated first, which takes its write lock (a row lock on
        PostgreSQL, the database write lock on SQLite), so concurrent writers
        queue up behind each other instead of forking the chain.
        """
        with self.session() as session:
            session.execute(update(AuditHead).where(AuditHead.id == 1).values(id=AuditHead.id))
            head = session.get(AuditHead, 1, populate_existing=True)
            if head is None:
                raise AuditChainBrokenError("the audit head row is missing")
            entry = AuditEntry(
                at=datetime.now(UTC),
                actor=actor,
                action=action,
                target=target,
                detail=detail or {},
                prev_hash=head.hash,
                hash="",
            )
            entry.hash = audit_hash(entry)
            session.add(entry)
            head.hash = entry.hash
            head.entries += 1
        return entry

    def verify_audit(self) -> int:
        """Check the whole chain and its head; return the number of entries or raise."""
        prev = GENESIS
        count = 0
        with self.session() as session:
            for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
                if entry.prev_hash != prev or entry.hash != audit_hash(entry):
                    raise AuditChainBrokenError(
                        f"audit entry {entry.id} does not follow from the one before it"
                    )
                prev = entry.hash
                count += 1
            head = session.get(AuditHead, 1)
        if head is None or head.hash != prev or head.entries != count:
            raise AuditChainBrokenError(
                f"the audit log ends at entry {count}, but its head records "
                f"{head.entries if head else 0} entries: the newest were removed"
            )
        return count


def audit_hash(entry: AuditEntry) -> str:
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    body = json.dumps(
        [
            entry.prev_hash,
            at.isoformat(timespec="microseconds"),
            entry.actor,
            entry.action,
            entry.target,
            entry.detail,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _analysed_rows(connection: Connection) -> dict[str, int]:
    """Rows per table when SQLite last analysed it (none before the first ANALYZE)."""
    exists = "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'sqlite_stat1'"
    if connection.exec_driver_sql(exists).first() is None:
        return {}
    stats = connection.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1 WHERE idx IS NOT NULL")
    return {str(table): int(str(stat).split()[0]) for table, stat in stats}


def _connect_args(url: str) -> dict[str, object]:
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        return {}
    if backend == "postgresql":
        return {"connect_timeout": 5}
    if backend == "sqlite":
        return {"timeout": 30}
    return {}


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
