"""`/api/health`: ingest, dead letters, lag and the parts' state (any signed-in role);
`/api/health/dead-letters`: the letters themselves (analysts with every store in scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import Analyst, ConsoleDep, Viewer
from vigil.console.errors import ForbiddenError
from vigil.console.health.schemas import DeadLetterPageRead, HealthRead
from vigil.console.health.service import MAX_LETTERS, dead_letters, health

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get("")
async def get_health(principal: Viewer, console: ConsoleDep) -> HealthRead:
    """Per-source ingest totals and lag, dead letters by source, and the parts' state."""
    return HealthRead.of(await run_in_threadpool(health, console))


@router.get("/dead-letters")
async def get_dead_letters(
    principal: Analyst,
    console: ConsoleDep,
    source: Annotated[str | None, Query(max_length=500, description="Only this source.")] = None,
    before: Annotated[
        int | None, Query(ge=1, description="Only letters older than this id.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LETTERS)] = 50,
) -> DeadLetterPageRead:
    """Dead letters with their raw records, newest first. A letter belongs to no store, so
    reading them needs the `*` scope, as raw telemetry needs the analyst role; audited."""
    if not principal.scope.everything:
        raise ForbiddenError("dead letters belong to no store: reading them needs the `*` scope")
    console.database.audit(principal.name, "health.dead_letters", source, {"before": before})
    page = await run_in_threadpool(dead_letters, console.database, source, before, limit)
    return DeadLetterPageRead.of(page)
