"""The console benchmark's data folder: `alerts` alerts folded into `alerts / 10` incidents.

Built fast but from real rows: the sample telemetry is ingested into the lake
(what incident timelines read), `TEMPLATES` incidents of ten alerts each are made
by the real pipeline (pack rule metadata, `store_alerts`, `correlate_stored`),
and then copied in SQL (`INSERT ... SELECT` over a table of copy numbers), each
copy moved to one of `STORES` stores (its `incident_stores` row too), with its own
risk and status; every incident is then stamped as last changed a day ago. One template
in `ESTATE_WIDE_EVERY` has no store (the web shop's incidents), as in an estate.

Store `HOME` (of the sample estate) is one of the `STORES`; a user scoped to it
sees about 1/`STORES` of the store incidents.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

import polars as pl

from vigil.config import CONFIG_FILE, default_config_text, load_settings
from vigil.console.auth.passwords import HashCost
from vigil.console.auth.types import Role
from vigil.console.settings import ConsoleSettings
from vigil.console.state import Console
from vigil.correlate import service
from vigil.detect.loader import load_pack
from vigil.detect.sink import store_alerts
from vigil.detect.types import Alert, RuleMeta
from vigil.estate import load_estate, sample_estate_text
from vigil.ingest import Ingestor, import_path
from vigil.ingest.enrich import Enricher
from vigil.store.database import Database
from vigil.store.lake import Lake

STORES = 2_000
ALERTS_PER_INCIDENT = 10
TEMPLATES = 20
ESTATE_WIDE_EVERY = 10
HOME = "031"
BASE = datetime(2026, 11, 20, 10, tzinfo=UTC)
"""The sample telemetry's day: template incidents fall in it, so timelines find events."""
PASSWORD = "benchmark password, not a secret"
CHEAP = HashCost(time_cost=1, memory_kib=8192, parallelism=1)
"""Sign-in is not what is measured."""
USERS = {"everyone": ["*"], "manager": [HOME]}


def build(folder: Path, incidents: int) -> int:
    """A data folder with about `incidents` incidents; returns how many it holds."""
    folder.mkdir(parents=True)
    (folder / CONFIG_FILE).write_text(default_config_text(), encoding="utf-8")
    (folder / "estate.yaml").write_text(sample_estate_text(), encoding="utf-8")
    settings = load_settings(folder)
    settings.lake_path.mkdir()
    database = Database.open(settings.database_url)
    estate = load_estate(settings.estate_path)
    try:
        sample = resources.files("vigil.events").joinpath("samples/sample_events.ndjson")
        with resources.as_file(sample) as path:
            import_path(path, Ingestor(Lake(settings.lake_path), database, Enricher(estate)))
        store_alerts(database, _template_alerts())
        service.correlate_stored(database, estate)
    finally:
        database.close()
    copies = max(incidents // TEMPLATES - 1, 0)
    with sqlite3.connect(folder / "vigil.db") as connection:
        _copy(connection, copies)
        total: int = connection.execute("SELECT count(*) FROM incidents").fetchone()[0]
    with sqlite3.connect(folder / "vigil.db") as connection:  # settled, as a day-old database
        yesterday = datetime.now(UTC) - timedelta(days=1)
        connection.execute(
            "UPDATE incidents SET changed_at = ?", (f"{yesterday:%Y-%m-%d %H:%M:%S.%f}",)
        )
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _users(folder)
    return total


def _template_alerts() -> list[Alert]:
    """Ten alerts per template incident, of the pack's rules, on one device and address."""
    metas: list[RuleMeta] = [rule.meta for rule in load_pack()]
    alerts = []
    for template in range(TEMPLATES):
        wide = template % ESTATE_WIDE_EVERY == ESTATE_WIDE_EVERY - 1
        entities = {"ip": f"203.0.113.{template + 1}"}
        if not wide:
            entities |= {"store": HOME, "device": f"s{HOME}-pos-{template + 1:02d}"}
        for index in range(ALERTS_PER_INCIDENT):
            meta = metas[(template * ALERTS_PER_INCIDENT + index) % len(metas)]
            last = BASE + timedelta(minutes=30 * template + 2 * index)
            alerts.append(
                Alert(
                    rule=meta,
                    time=last,
                    first_seen=last - timedelta(minutes=1),
                    entities=dict(entities),
                    values={},
                    evidence=pl.DataFrame({"time": [last], "store.uid": [entities.get("store")]}),
                    score=meta.confidence / 100,
                    explanation=f"{meta.title}: {', '.join(entities.values())}",
                )
            )
    return alerts


def _copy(connection: sqlite3.Connection, copies: int) -> None:
    """`copies` copies of every incident with its alerts, rows and entities, in SQL."""
    connection.execute("CREATE TEMP TABLE copies (n INTEGER PRIMARY KEY, store TEXT)")
    connection.execute(
        "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < ?) "
        "INSERT INTO copies SELECT n, CASE WHEN n % ? = 0 THEN ? ELSE printf('x%04d', n % ?) END "
        "FROM k",
        (copies, STORES, HOME, STORES),
    )
    moved = {"store": "CASE WHEN t.store_uid IS NULL THEN NULL ELSE c.store END"}
    risk = "((c.n * 7919 + t.rowid * 104729) % 10000) / 100.0"
    _insert(
        connection,
        "incidents",
        {
            "uid": "t.uid || '-' || c.n",
            "title": f"replace(t.title, 'store {HOME}', 'store ' || c.store)",
            "store_uid": moved["store"],
            "stores": "CASE WHEN t.store_uid IS NULL THEN t.stores ELSE json_array(c.store) END",
            "risk": risk,
            "risk_level": f"CASE WHEN {risk} >= 75 THEN 'critical' WHEN {risk} >= 50 THEN 'high'"
            f" WHEN {risk} >= 25 THEN 'medium' ELSE 'low' END",
            "status": "CASE c.n % 10 WHEN 0 THEN 'resolved' WHEN 1 THEN 'closed'"
            " WHEN 2 THEN 'acknowledged' WHEN 3 THEN 'contained' ELSE 'new' END",
        },
    )
    _insert(
        connection,
        "incident_stores",
        {"incident_uid": "t.incident_uid || '-' || c.n", "store_uid": "c.store"},
    )
    _insert(
        connection,
        "incident_alerts",
        {"incident_uid": "t.incident_uid || '-' || c.n", "alert_uid": "t.alert_uid || '-' || c.n"},
    )
    _insert(
        connection,
        "incident_entities",
        {
            "incident_uid": "t.incident_uid || '-' || c.n",
            "scope": f"CASE WHEN t.scope = '{HOME}' THEN c.store ELSE t.scope END",
            "value": f"CASE WHEN t.kind = 'store' AND t.value = '{HOME}' THEN c.store"
            " ELSE t.value END",
        },
    )
    _insert(
        connection,
        "alerts",
        {
            "uid": "t.uid || '-' || c.n",
            "incident_uid": "t.incident_uid || '-' || c.n",
            "store_uid": moved["store"],
        },
    )


def _insert(connection: sqlite3.Connection, table: str, changed: dict[str, str]) -> None:
    columns = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
    values = ", ".join(changed.get(name, f"t.{name}") for name in columns)
    connection.execute(  # table and column names are the schema's own, not input
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {values} FROM {table} AS t CROSS JOIN copies AS c"
    )


def _users(folder: Path) -> None:
    console = Console(ConsoleSettings(data=folder, allow_http=True, password_cost=CHEAP))
    try:
        for name, scope in USERS.items():
            console.accounts.create_user(name, PASSWORD, Role.ANALYST, scope, "bench")
    finally:
        console.close()
