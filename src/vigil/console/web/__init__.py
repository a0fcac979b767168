"""The console's screens: HTML shells, CSS and small JavaScript modules over the public API.

`mount(app, reader)` adds the pages and `/static` to the app that serves the API;
`reader` finds the signed-in user of a request (see `types.SessionReader`).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from vigil.console.web.router import page_router
from vigil.console.web.types import PageUser, SessionReader

STATIC = Path(__file__).parent / "static"

__all__ = ["STATIC", "PageUser", "SessionReader", "mount"]


def mount(app: FastAPI, reader: SessionReader) -> None:
    """Serve the screens from `app`: the page routes and the static files under `/static`."""
    app.include_router(page_router(reader))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
