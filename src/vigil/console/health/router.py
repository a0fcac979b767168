"""`/api/health`: ingest, dead letters, lag and the parts' state (any signed-in role)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import ConsoleDep, Viewer
from vigil.console.health.schemas import HealthRead
from vigil.console.health.service import health

router = APIRouter(prefix="/api/health", tags=["health"])


@router.get("")
async def get_health(principal: Viewer, console: ConsoleDep) -> HealthRead:
    """Per-source ingest totals and lag, dead letters by source, and the parts' state."""
    return HealthRead.of(await run_in_threadpool(health, console))
