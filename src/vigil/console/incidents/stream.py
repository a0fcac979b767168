"""Live queue updates as Server-Sent Events: `event: incident` with a summary when one opens
or changes, a comment line as heartbeat, and an end after a while (browsers reconnect).

Changes are found by polling the rows whose `changed_at` (the writer's wall clock)
is within `OVERLAP` of now: an index range, not the whole queue. The overlap covers
transactions that commit a little after they stamp the row and writers whose clocks
lag (one further behind is missed). Fingerprints (status, risk, alerts, owner,
verdict, times) tell a real change from a row read again. One poll per interval is
shared by every open stream, whoever made the change (the pipeline or a person in
another process).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from vigil.console.auth.types import Principal
from vigil.console.incidents.queries import stores_of, summaries
from vigil.console.incidents.schemas import IncidentSummaryRead
from vigil.console.state import Console
from vigil.correlate.rows import chunks
from vigil.correlate.types import IncidentStatus
from vigil.store.database import Database
from vigil.store.models import Incident as IncidentRow

MAX_EVENTS = 200
"""Changed incidents sent per poll at most (the biggest risks first)."""
OVERLAP = timedelta(seconds=30)
"""How far back each poll looks (the wall clock, as `changed_at` is stamped)."""
Fingerprints = dict[str, tuple[object, ...]]


def recent(database: Database) -> Fingerprints:
    """The fingerprints of the incidents changed within `OVERLAP` of now."""
    since = datetime.now(UTC) - OVERLAP
    query = select(
        IncidentRow.uid,
        IncidentRow.status,
        IncidentRow.risk,
        IncidentRow.alert_count,
        IncidentRow.evidence_count,
        IncidentRow.assignee,
        IncidentRow.verdict,
        IncidentRow.updated_at,
        IncidentRow.closed_at,
    ).where(IncidentRow.changed_at >= since, IncidentRow.status != IncidentStatus.MERGED.value)
    with database.session() as session:
        return {row[0]: tuple(row[1:]) for row in session.execute(query)}


def shared_recent(console: Console) -> Fingerprints:
    """The recent changes, read at most once per poll interval however many streams are open."""
    fresh = console.settings.stream_poll.total_seconds() / 2
    with console.polls_lock:
        found = console.polls.get("incidents")
        if found is not None and time.monotonic() - found[0] < fresh:
            marks: Fingerprints = found[1]  # type: ignore[assignment]
            return marks
        marks = recent(console.database)
        console.polls["incidents"] = (time.monotonic(), marks)
        return marks


def changed_events(database: Database, principal: Principal, uids: list[str]) -> list[str]:
    """The SSE messages of the changed incidents the caller may see, highest risk first."""
    with database.session() as session:
        rows = [
            row
            for chunk in chunks(uids)
            for row in session.scalars(select(IncidentRow).where(IncidentRow.uid.in_(chunk)))
            if principal.scope.covers_all(stores_of(row))
        ]
        rows.sort(key=lambda row: (-row.risk, row.uid))
        items = summaries(session, rows[:MAX_EVENTS])
    return [
        f"event: incident\ndata: {IncidentSummaryRead.of(item).model_dump_json()}\n\n"
        for item in items
    ]


async def incident_events(
    console: Console, principal: Principal, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[str]:
    settings = console.settings
    poll = settings.stream_poll.total_seconds()
    beat = settings.stream_heartbeat.total_seconds()
    started = last_beat = time.monotonic()
    seen = await run_in_threadpool(shared_recent, console)
    yield "retry: 3000\n: connected\n\n"
    while time.monotonic() - started < settings.stream_lifetime.total_seconds():
        await anyio.sleep(poll)
        if await disconnected():
            return
        now = await run_in_threadpool(shared_recent, console)
        changed = [uid for uid, mark in now.items() if seen.get(uid) != mark]
        seen = now
        if changed:
            for message in await run_in_threadpool(
                changed_events, console.database, principal, changed
            ):
                yield message
        if time.monotonic() - last_beat >= beat:
            last_beat = time.monotonic()
            yield ": heartbeat\n\n"
