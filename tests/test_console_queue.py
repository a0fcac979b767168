"""The incident queue at scale: scope and cursor in SQL against a Python oracle, the store
table kept in step by the correlator and filled by the migration, the statistics SQLite
plans by, the live queue's poll of recent changes, and the timeline's partition reads."""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, select, text, update

from correlate_helpers import make_alert, two_incidents_about_to_merge
from vigil.console.auth.types import Scope
from vigil.console.incidents import queries
from vigil.console.incidents.stream import OVERLAP, recent
from vigil.console.incidents.types import IncidentFilter
from vigil.correlate import Correlator, TimelineError, service
from vigil.correlate.rows import write_incident
from vigil.correlate.timeline import related_events
from vigil.correlate.types import NO_RISK, Incident, IncidentStatus, Risk
from vigil.events import EventBatch, parse_event
from vigil.store.database import Database, _alembic_config, sqlite_url
from vigil.store.lake import Lake
from vigil.store.models import Incident as IncidentRow
from vigil.store.models import IncidentStore

POSTGRES_URL = os.environ.get(
    "VIGIL_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
STORES = ("031", "044", "112", "127", "x1")
WORDS = ("POS refund", "Door forced", "Vendor login", "Scan")
T0 = datetime(2026, 11, 23, 11, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        opened = Database.open(sqlite_url(tmp_path))
        yield opened
        opened.close()
        return
    schema = f"vigil_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    opened = Database.open(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        yield opened
    finally:
        opened.close()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _incident(uid: str, stores: tuple[str, ...], risk: float, status: IncidentStatus) -> Incident:
    return Incident(
        uid=uid,
        title=f"{WORDS[int(risk) % len(WORDS)]} {uid}",
        status=status,
        opened_at=T0,
        updated_at=T0,
        first_seen=T0,
        last_seen=T0,
        alerts=(),
        entities=(),
        stores=stores,
        tactics=(),
        risk=Risk(risk, NO_RISK.level, (), ""),
    )


def _random_incidents(seed: int, count: int) -> list[Incident]:
    rng = random.Random(seed)
    found = []
    for n in range(count):
        stores = tuple(sorted(rng.sample(STORES, rng.choice([0, 1, 1, 1, 2, 3]))))
        risk = float(rng.choice(range(0, 100, 5)))  # ties, so the uid orders within a risk
        found.append(_incident(f"inc-{n:03d}", stores, risk, rng.choice(list(IncidentStatus))))
    return found


def _write(database: Database, incidents: list[Incident]) -> None:
    with database.session() as session:
        for incident in incidents:
            write_incident(session, incident)


def _expected(incidents: list[Incident], scope: Scope, wanted: IncidentFilter) -> list[str]:
    def keep(incident: Incident) -> bool:
        text_ok = wanted.text is None or (
            wanted.text.lower() in incident.title.lower() or incident.uid.startswith(wanted.text)
        )
        return (
            incident.status in wanted.statuses
            and (wanted.min_risk is None or incident.risk.score >= wanted.min_risk)
            and (wanted.store is None or wanted.store in incident.stores)
            and text_ok
            and scope.covers_all(incident.stores)
        )

    kept = sorted((i for i in incidents if keep(i)), key=lambda i: (-i.risk.score, i.uid))
    return [incident.uid for incident in kept]


def _all_pages(database: Database, scope: Scope, wanted: IncidentFilter) -> list[str]:
    seen: list[str] = []
    cursor = None
    for _ in range(1000):
        page = queries.page(
            database,
            scope,
            IncidentFilter(
                wanted.statuses, wanted.store, wanted.min_risk, wanted.text, wanted.limit, cursor
            ),
        )
        assert len(page.items) <= wanted.limit
        seen += [item.uid for item in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("the cursor never ended")


def test_the_queue_in_sql_matches_the_scope_rule_and_pages_once(database: Database) -> None:
    """Seeded random incidents (no store, one, several) and scopes: every page in SQL,
    followed to the end, is exactly what `Scope.covers_all` and the filters allow, in order."""
    incidents = _random_incidents(7, 240)
    _write(database, incidents)
    rng = random.Random(11)
    scopes = [Scope.parse(["*"], None)] + [
        Scope.parse(rng.sample(STORES, rng.randint(1, 4)), None) for _ in range(8)
    ]
    scopes.append(Scope((), frozenset()))  # a stored scope whose stores left the estate
    for scope in scopes:
        for _ in range(4):
            statuses = tuple(rng.sample(list(IncidentStatus), rng.randint(1, 7)))
            wanted = IncidentFilter(
                statuses,
                store=rng.choice([None, None, *STORES]),
                min_risk=rng.choice([None, 50.0]),
                text=rng.choice([None, None, "pos", "inc-01"]),
                limit=rng.choice([1, 3, 7, 50]),
            )
            assert _all_pages(database, scope, wanted) == _expected(incidents, scope, wanted)


def test_the_store_rows_follow_the_incidents_through_a_merge(database: Database) -> None:
    first, second = two_incidents_about_to_merge(database)
    assert service.correlate_stored(database).merged == 1
    with database.session() as session:
        rows = session.execute(select(IncidentStore.incident_uid, IncidentStore.store_uid)).all()
    assert sorted(rows) == sorted([(first.uid, "031"), (first.uid, "044"), (second.uid, "044")])
    one_store = Scope.parse(["031"], None)
    merged_view = IncidentFilter((IncidentStatus.MERGED, IncidentStatus.NEW), limit=10)
    assert [i.uid for i in queries.page(database, one_store, merged_view).items] == []
    both = Scope.parse(["031", "044"], None)
    assert {i.uid for i in queries.page(database, both, merged_view).items} == {
        first.uid,
        second.uid,
    }


@pytest.mark.parametrize(
    "dialect", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migration_0007_fills_the_store_rows_of_existing_incidents(
    dialect: str, tmp_path: Path
) -> None:
    schema = f"vigil_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL) if dialect == "postgresql" else None
    if admin is not None:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    else:
        url = sqlite_url(tmp_path)
    database = Database.open(url, migrate=False)
    config = _alembic_config()
    stored = [("one", "031", None), ("two", None, '["031", "044"]'), ("wide", None, "[]")]
    try:
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006")
            for uid, store, stores in stored:
                connection.execute(
                    text(
                        "INSERT INTO incidents (uid, opened_at, updated_at, title, status, risk,"
                        " store_uid, stores) VALUES (:uid, :at, :at, 'x', 'new', 1, :store, :stores)"
                    ),
                    {"uid": uid, "at": T0, "store": store, "stores": stores},
                )
            command.upgrade(config, "head")
        with database.session() as session:
            rows = session.execute(select(IncidentStore.incident_uid, IncidentStore.store_uid))
            assert sorted(rows.all()) == [("one", "031"), ("two", "031"), ("two", "044")]
            stamps = session.scalars(select(IncidentRow.changed_at)).all()
        assert len(stamps) == 3
        assert None not in stamps
        indexes = {index["name"] for index in inspect(database.engine).get_indexes("incidents")}
        assert {"ix_incidents_queue", "ix_incidents_changed"} <= indexes
        with database.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
        assert not inspect(database.engine).has_table("incident_stores")
    finally:
        database.close()
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


QUEUE_PLAN = (
    "EXPLAIN QUERY PLAN SELECT * FROM incidents WHERE status IN"
    " ('new', 'acknowledged', 'contained', 'reopened') ORDER BY risk DESC, uid LIMIT 51"
)


def _plan_and_statistics(database: Database) -> tuple[str, int]:
    with database.engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(QUEUE_PLAN))
        exists = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'"
        ).scalar()
        if not exists:
            return plan, 0
        rows = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'incidents'"
        ).scalar()
    return plan, int(rows or 0)


def test_sqlite_plans_the_queue_by_risk_once_it_has_statistics(tmp_path: Path) -> None:
    """Without statistics SQLite reads the open incidents through the status index and sorts
    them all; a grown database is analysed (when opened, or when a running console checks
    again), and the queue walks the risk index."""
    incidents = [
        _incident(f"inc-{n:04d}", ("031",), float(n % 97), IncidentStatus.NEW) for n in range(1200)
    ]
    database = Database.open(sqlite_url(tmp_path))
    try:
        _write(database, incidents)
        database.refresh_statistics(unless_within=timedelta(hours=1))  # checked at open
        plan, analysed = _plan_and_statistics(database)
        assert analysed == 0
        assert "TEMP B-TREE" in plan
        database.refresh_statistics()
        plan, analysed = _plan_and_statistics(database)
        assert analysed > 0
        assert "ix_incidents_queue" in plan
        assert "TEMP B-TREE" not in plan
    finally:
        database.close()
    (tmp_path / "other").mkdir()
    grown = Database.open(sqlite_url(tmp_path / "other"))
    _write(grown, incidents)
    grown.close()
    reopened = Database.open(sqlite_url(tmp_path / "other"))
    try:
        plan, analysed = _plan_and_statistics(reopened)
    finally:
        reopened.close()
    assert analysed > 0
    assert "ix_incidents_queue" in plan


def test_the_live_poll_reads_only_recent_changes(database: Database) -> None:
    incidents = _random_incidents(3, 20)
    _write(database, incidents)
    listed = {i.uid for i in incidents if i.status is not IncidentStatus.MERGED}
    assert set(recent(database)) == listed
    old = datetime.now(UTC) - OVERLAP - timedelta(minutes=5)
    with database.session() as session:  # as if written long ago
        session.execute(update(IncidentRow).values(changed_at=old))
    assert recent(database) == {}
    some = sorted(listed)[0]
    with database.session() as session:  # a person assigns it: the row is stamped again
        row = session.get(IncidentRow, some)
        assert row is not None
        row.assignee = "ana"
    marks = recent(database)
    assert list(marks) == [some]
    assert "ana" in marks[some]


def _flow(minutes: float, store: str, device: str) -> dict[str, object]:
    return {
        "class_uid": 4001,
        "activity_id": 6,
        "time": int((T0 + timedelta(minutes=minutes)).timestamp() * 1000),
        "metadata": {"version": "1.8.0", "product": {"name": "test", "vendor_name": "Vigil"}},
        "store": {"uid": store},
        "src_endpoint": {"uid": device, "ip": "10.31.11.11"},
        "dst_endpoint": {"ip": "203.0.113.9", "port": 8443},
    }


def test_the_timeline_reads_only_the_partitions_it_needs(tmp_path: Path) -> None:
    """Unreadable files in other stores' and other days' partitions do not stop a timeline
    whose matches are all bound to one store on one day; one in its own partition does."""
    lake = Lake(tmp_path / "lake")
    events = [_flow(1, "031", "s031-pos-01"), _flow(2, "044", "s044-pos-01")]
    lake.append(EventBatch.from_events([parse_event(event) for event in events]))
    lake.append(EventBatch.from_events([parse_event(_flow(3 * 24 * 60, "031", "s031-pos-01"))]))
    folder = tmp_path / "lake" / "network_activity"
    for partition in ("day=2026-11-23/store=044", "day=2026-11-26/store=031"):
        (folder / partition / "part-broken.parquet").write_bytes(b"not parquet")
    correlator = Correlator()
    correlator.update([make_alert("pos.new", 2, {"store": "031", "device": "s031-pos-01"})])
    [incident] = correlator.incidents()
    [found] = related_events(lake, incident)
    assert (found.event_class, found.total) == ("network_activity", 1)
    (folder / "day=2026-11-23/store=031/part-broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(TimelineError, match=incident.uid):
        related_events(lake, incident)
