"""`/api/stores/{store}/snapshots/...`: the blurred snapshots of video observations, in scope only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from vigil.console.deps import ConsoleDep, Viewer
from vigil.console.video.service import snapshot_file
from vigil.console.video.types import SnapshotKey

router = APIRouter(prefix="/api/stores", tags=["video"])


@router.get(
    "/{store}/snapshots/{camera}/{day}/{name}",
    response_class=FileResponse,
    responses={200: {"content": {"image/jpeg": {}}, "description": "The blurred snapshot."}},
)
async def snapshot(
    store: str, camera: str, day: str, name: str, principal: Viewer, console: ConsoleDep
) -> FileResponse:
    """A snapshot a video observation of the store names (404 out of scope or unknown)."""
    key = SnapshotKey(store, camera, day, name)
    path = await run_in_threadpool(snapshot_file, console, principal.scope, key)
    return FileResponse(
        path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )
