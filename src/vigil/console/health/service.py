"""Health of the installation: ingest totals per source, dead letters, and the parts
the console depends on (database schema, event lake, playbooks and approvals)."""

from __future__ import annotations

from sqlalchemy import select

from vigil.console.health.types import (
    DeadLetterEntry,
    DeadLetterPage,
    Health,
    SourceHealth,
    WorkerHealth,
)
from vigil.console.state import Console
from vigil.correlate.codec import utc
from vigil.ingest import ingest_status
from vigil.respond.approvals import ApprovalStatus
from vigil.respond.errors import RespondError
from vigil.respond.playbooks import load_playbooks
from vigil.respond.store import ResponseStore
from vigil.store.database import Database
from vigil.store.models import DeadLetter

MAX_LETTERS = 200
"""Dead letters one page holds at most (a raw record is up to 64 KiB)."""


def health(console: Console) -> Health:
    now = console.now()
    status = ingest_status(console.database, latest=0)
    rows, letters = status.sources, status.dead_letters
    sources = tuple(
        SourceHealth(
            source=row.source,
            format=row.format,
            records=row.records,
            events=row.events,
            rejected=row.rejected,
            skipped=row.skipped,
            recoded=row.recoded,
            pans_masked=row.pans_masked,
            dropped=row.dropped,
            last_at=utc(row.last_at),
            lag_s=max(0.0, (now - utc(row.last_at)).total_seconds()),
        )
        for row in rows
    )
    return Health(sources, sum(letters.values()), letters, _workers(console))


def dead_letters(
    database: Database, source: str | None, before: int | None, limit: int
) -> DeadLetterPage:
    """Up to `limit` dead letters older than `before` (an id), newest first, of one
    `source` or of all; a keyset page, so letters added meanwhile shift nothing."""
    query = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit + 1)
    if source is not None:
        query = query.where(DeadLetter.source == source)
    if before is not None:
        query = query.where(DeadLetter.id < before)
    with database.session() as session:
        rows = list(session.scalars(query))
    items = tuple(
        DeadLetterEntry(
            id=row.id,
            at=utc(row.at),
            source=row.source,
            position=row.position,
            reason=row.reason,
            raw=row.raw,
        )
        for row in rows[:limit]
    )
    return DeadLetterPage(items, items[-1].id if len(rows) > limit else None)


def _workers(console: Console) -> tuple[WorkerHealth, ...]:
    return (_database(console.database), _lake(console), _respond(console))


def _database(database: Database) -> WorkerHealth:
    current, head = database.revision(), Database.head_revision()
    if current == head:
        return WorkerHealth("database", "ok", f"schema at revision {current}")
    return WorkerHealth("database", "degraded", f"schema at {current}, code expects {head}")


def _lake(console: Console) -> WorkerHealth:
    root = console.lake.root
    if not root.is_dir():
        return WorkerHealth("lake", "down", f"no event lake at {root}")
    classes = sorted(path.name for path in root.iterdir() if path.is_dir())
    return WorkerHealth("lake", "ok", f"{len(classes)} event classes stored")


def _respond(console: Console) -> WorkerHealth:
    try:
        settings = console.response_settings()
        playbooks = load_playbooks(settings.playbook_paths(console.settings.data))
    except RespondError as error:
        return WorkerHealth("respond", "degraded", str(error))
    pending = ResponseStore(console.database).approvals(statuses=[ApprovalStatus.PENDING])
    late = [request for request in pending if request.expires_at <= console.now()]
    detail = f"{len(playbooks)} playbooks, {len(pending)} approval(s) pending"
    if late:
        return WorkerHealth("respond", "degraded", f"{detail}, {len(late)} past expiry (run tick)")
    return WorkerHealth("respond", "ok", detail)
