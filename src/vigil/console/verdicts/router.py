"""`/api/verdicts`: analysts' verdicts as labels for learning, oldest first, in scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import ConsoleDep, Viewer
from vigil.console.verdicts.schemas import VerdictPageRead
from vigil.console.verdicts.service import MAX_LIMIT, decisions

router = APIRouter(prefix="/api/verdicts", tags=["verdicts"])


@router.get("")
async def verdicts(
    principal: Viewer,
    console: ConsoleDep,
    after: Annotated[int, Query(ge=0, description="Only decisions after this `seq`.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 500,
) -> VerdictPageRead:
    """Every verdict decision (single or bulk) with the incident's rules and alerts, for
    learning: tuning thresholds, suppressing what analysts call benign."""
    page = await run_in_threadpool(decisions, console.database, principal.scope, after, limit)
    return VerdictPageRead.of(page)
