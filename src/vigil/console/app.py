"""The app factory: `create_app(ConsoleSettings(data=...))` -> a FastAPI app.

Every API route is under `/api`; the screens (`vigil.console.web`) mount at `/`
and use only the API. Responses carry security headers; the database closes
when the app shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from vigil import __version__
from vigil.console import errors
from vigil.console.approvals.router import router as approvals_router
from vigil.console.auth.router import router as auth_router
from vigil.console.deps import COOKIE
from vigil.console.detections.router import router as detections_router
from vigil.console.errors import ConsoleError
from vigil.console.health.router import router as health_router
from vigil.console.hunt.router import router as hunt_router
from vigil.console.incidents.router import router as incidents_router
from vigil.console.settings import ConsoleSettings
from vigil.console.state import Console
from vigil.console.stores.router import router as stores_router
from vigil.console.verdicts.router import router as verdicts_router
from vigil.console.video.router import router as video_router
from vigil.console.web import PageUser, mount

ROUTERS = (
    auth_router,
    stores_router,
    video_router,
    incidents_router,
    verdicts_router,
    approvals_router,
    hunt_router,
    detections_router,
    health_router,
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: ConsoleSettings) -> FastAPI:
    """The console over one data folder (the one `vigil init` made)."""
    console = Console(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        console.close()

    app = build_api(lifespan)
    app.state.console = console
    _mount_screens(app, console)
    return app


def build_api(lifespan: Callable[[FastAPI], object] | None = None) -> FastAPI:
    """The API without a data folder behind it (also what the OpenAPI document is made from)."""
    app = FastAPI(
        title="Vigil console API",
        version=__version__,
        description="Incidents, approvals, hunting, detections and health of a Vigil estate.",
        lifespan=lifespan,  # type: ignore[arg-type]
    )
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def _mount_screens(app: FastAPI, console: Console) -> None:
    """Mount the screens; they find the signed-in user through `reader`."""

    def reader(request: Request) -> PageUser | None:
        """The signed-in user of a page request, from the session cookie (None if none)."""
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        try:
            principal = console.accounts.principal(cookie)
        except ConsoleError:
            return None
        roles = tuple(role.value for role in principal.role.cumulative())
        return PageUser(principal.name, roles, principal.csrf_token or "")

    mount(app, reader)
