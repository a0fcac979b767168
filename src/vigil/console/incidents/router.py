"""`/api/incidents`: the queue (cursor pages, live stream), the incident page, the actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from vigil.console.approvals.schemas import PlanRead, RunRead
from vigil.console.deps import Analyst, ConsoleDep, Viewer
from vigil.console.errors import InvalidInputError
from vigil.console.incidents import queries, service
from vigil.console.incidents.detail import incident_detail
from vigil.console.incidents.schemas import (
    AssignCreate,
    BulkCreate,
    BulkRead,
    CommentCreate,
    CommentRead,
    IncidentDetailRead,
    IncidentPageRead,
    IncidentSummaryRead,
    RespondCreate,
    RespondRead,
    VerdictCreate,
)
from vigil.console.incidents.stream import incident_events
from vigil.console.incidents.types import LIST_STATUSES, IncidentFilter
from vigil.correlate.types import IncidentStatus
from vigil.respond.store import ResponseStore

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


def _statuses(text: str | None) -> tuple[IncidentStatus, ...]:
    if not text:
        return LIST_STATUSES
    known = {status.value: status for status in IncidentStatus}
    wanted = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in known]
    if unknown:
        raise InvalidInputError(f"unknown status {unknown[0]!r}; known: {', '.join(known)}")
    return tuple(known[part] for part in wanted)


@router.get("")
def list_incidents(
    principal: Viewer,
    console: ConsoleDep,
    status: Annotated[str | None, Query(description="Comma-separated statuses.")] = None,
    store: Annotated[str | None, Query(description="Only incidents of this store.")] = None,
    min_risk: Annotated[float | None, Query(ge=0, le=100)] = None,
    q: Annotated[str | None, Query(max_length=200, description="Title text or id prefix.")] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> IncidentPageRead:
    """The queue, highest risk first, in the caller's scope; `next_cursor` continues it."""
    wanted = IncidentFilter(_statuses(status), store, min_risk, q, limit, cursor)
    page = queries.page(console.database, principal.scope, wanted)
    return IncidentPageRead(
        items=[IncidentSummaryRead.of(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events."}},
)
def stream(principal: Viewer, console: ConsoleDep, request: Request) -> StreamingResponse:
    """Server-Sent Events: `incident` with a summary whenever one opens or changes (in scope)."""
    return StreamingResponse(
        incident_events(console, principal, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.post("/bulk")
def bulk(body: BulkCreate, principal: Analyst, console: ConsoleDep) -> BulkRead:
    """Assign, set the status or the verdict of many incidents at once (all in scope, or none)."""
    items = service.bulk(console, principal, body.uids, body.action, body.value)
    return BulkRead(items=[IncidentSummaryRead.of(item) for item in items])


@router.get("/{uid}")
async def get_incident(uid: str, principal: Viewer, console: ConsoleDep) -> IncidentDetailRead:
    """The incident page: explanation, timeline, graph, evidence, runs, approvals, comments."""
    detail = await run_in_threadpool(incident_detail, console, principal.scope, uid)
    return IncidentDetailRead.of(detail)


@router.post("/{uid}/verdict")
def verdict(
    uid: str, body: VerdictCreate, principal: Analyst, console: ConsoleDep
) -> IncidentSummaryRead:
    """Record the verdict (it feeds learning); a note becomes a comment."""
    return IncidentSummaryRead.of(
        service.set_verdict(console, principal, uid, body.verdict, body.note)
    )


@router.post("/{uid}/assign")
def assign(
    uid: str, body: AssignCreate, principal: Analyst, console: ConsoleDep
) -> IncidentSummaryRead:
    """Give the incident to a console user who can see it (or to nobody)."""
    return IncidentSummaryRead.of(service.assign(console, principal, uid, body.assignee))


@router.post("/{uid}/comments", status_code=201)
def comment(uid: str, body: CommentCreate, principal: Analyst, console: ConsoleDep) -> CommentRead:
    """Add a comment."""
    return CommentRead.of(service.add_comment(console, principal, uid, body.text))


@router.post("/{uid}/respond", response_model_exclude_none=True)
def respond(uid: str, body: RespondCreate, principal: Analyst, console: ConsoleDep) -> RespondRead:
    """Start the playbooks the incident triggers, or (`dry_run`) say what they would do."""
    runs, plans = service.respond(console, principal, uid, body.dry_run)
    if body.dry_run:
        return RespondRead(plans=[PlanRead.of(plan) for plan in plans])
    store = ResponseStore(console.database)
    return RespondRead(runs=[RunRead.of(run, store.steps(run.uid)) for run in runs])
