"""`/api/stores`: the estate overview and one store's view (in scope only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import ConsoleDep, Viewer
from vigil.console.errors import NotFoundError
from vigil.console.stores.schemas import StoreRead, StoreViewRead
from vigil.console.stores.service import list_stores
from vigil.console.stores.view import store_view

router = APIRouter(prefix="/api/stores", tags=["stores"])


@router.get("")
async def stores(
    principal: Viewer,
    console: ConsoleDep,
    region: Annotated[str | None, Query(description="Only this region's stores.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="In uid, name or city.")] = None,
) -> list[StoreRead]:
    """Every store in scope: open or not, telemetry health, open incidents and top risk."""
    found = await run_in_threadpool(list_stores, console, principal.scope, region, q)
    return [StoreRead.of(store) for store in found]


@router.get("/{uid}/view", response_model_by_alias=True)
async def view(
    uid: str,
    principal: Viewer,
    console: ConsoleDep,
    since: Annotated[datetime | None, Query(description="Window start (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Window end (ISO 8601).")] = None,
) -> StoreViewRead:
    """Footfall, queues, heat map, after-hours events and POS exceptions of one store."""
    estate = console.estate
    known = estate is not None and any(store.uid == uid for store in estate.stores)
    if not known or not principal.scope.covers(uid):
        raise NotFoundError(f"no store {uid!r}")
    return StoreViewRead.of(await run_in_threadpool(store_view, console, uid, since, until))
