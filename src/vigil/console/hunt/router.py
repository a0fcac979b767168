"""`/api/hunt`: search, read-only SQL and saved searches (analyst role; in scope only)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import Analyst, ConsoleDep
from vigil.console.hunt import search, service, sql
from vigil.console.hunt.schemas import (
    SavedCreate,
    SavedRead,
    SearchCreate,
    SearchRead,
    SqlCreate,
    SqlRead,
)

router = APIRouter(prefix="/api/hunt", tags=["hunt"])


@router.post("/search")
async def hunt_search(body: SearchCreate, principal: Analyst, console: ConsoleDep) -> SearchRead:
    """Events of one class matching the filters, newest first, with a histogram over time."""
    result = await run_in_threadpool(search.run, console.lake, body.search(), principal.scope)
    console.database.audit(
        principal.name, "hunt.search", body.event_class, body.model_dump(mode="json")
    )
    return SearchRead.of(result)


@router.post("/sql")
async def hunt_sql(body: SqlCreate, principal: Analyst, console: ConsoleDep) -> SqlRead:
    """One read-only SELECT over the event-class views, limited to your stores."""
    console.database.audit(principal.name, "hunt.sql", None, {"sql": body.sql})
    rows = await run_in_threadpool(sql.run, console.lake, body.sql, principal.scope)
    return SqlRead.of(rows)


@router.get("/saved")
def saved(principal: Analyst, console: ConsoleDep) -> list[SavedRead]:
    """Your saved searches."""
    return [SavedRead.of(item) for item in service.saved(console, principal)]


@router.post("/saved", status_code=201)
def save(body: SavedCreate, principal: Analyst, console: ConsoleDep) -> SavedRead:
    """Save a search under a name."""
    return SavedRead.of(service.save(console, principal, body.name, body.query))
