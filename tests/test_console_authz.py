"""The authorisation matrix: every API route x every role x a target in and out of scope.

Each cell is one request with a valid body; the table says the exact status it
must get. `-in` accounts cover store 031 (the target incident, approval and store
view are 031's; `admin-in` covers every store), `-out` accounts only the central
region. Requests that would change state are built so that the status does not
depend on the order cells run in (a decision without a reason stops at the engine's
reason check, after the role and scope checks; a rule edit with broken YAML stops
at lint), so one console serves the whole matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute

from console_fixtures import (
    IN_STORE,
    PASSWORD,
    ConsoleData,
    copy_of,
    settings_for,
    sign_in,
    snapshot_url,
)
from vigil.console import create_app
from vigil.console.app import build_api

ROLES = ("anonymous", "viewer", "analyst", "approver", "admin")
RULE = "vigil.pos.no_sales"
SNAPSHOT = "/api/stores/{store}/snapshots/{camera}/{day}/{name}"
Body = Callable[[ConsoleData, str], object]

# Statuses for anonymous, viewer, analyst, approver, admin.
OPEN = (200, 200, 200, 200, 200)
SIGNED_IN = (401, 200, 200, 200, 200)
ANALYST = (401, 403, 200, 200, 200)
ANALYST_CREATED = (401, 403, 201, 201, 201)
ANALYST_IN_SCOPE = (401, 403, 404, 404, 404)
ADMIN_CREATED = (401, 403, 403, 403, 201)
ADMIN_ONLY = (401, 403, 403, 403, 403)


@dataclass(frozen=True)
class Cell:
    """How to call a route, and the status each role gets for an in- and out-of-scope target."""

    inside: tuple[int, ...]
    outside: tuple[int, ...]
    body: Body | None = None


def _incident(data: ConsoleData) -> str:
    return data.incident_of(IN_STORE)


MATRIX: dict[tuple[str, str], Cell] = {
    ("GET", "/api/setup"): Cell(OPEN, OPEN),
    ("POST", "/api/setup"): Cell(
        (409,) * 5, (409,) * 5, lambda d, u: {"username": "late", "password": "x" * 16}
    ),
    ("POST", "/api/auth/login"): Cell(SIGNED_IN, SIGNED_IN),
    ("POST", "/api/auth/logout"): Cell((401, 204, 204, 204, 204), (401, 204, 204, 204, 204)),
    ("GET", "/api/auth/me"): Cell(SIGNED_IN, SIGNED_IN),
    ("GET", "/api/auth/oidc"): Cell(OPEN, OPEN),
    # this console has no OIDC provider: the sign-in routes say so to everyone
    ("GET", "/api/auth/oidc/login"): Cell((404,) * 5, (404,) * 5),
    ("GET", "/api/auth/oidc/callback"): Cell((404,) * 5, (404,) * 5),
    ("GET", "/api/users"): Cell((401, 403, 403, 403, 200), (401, 403, 403, 403, 200)),
    ("POST", "/api/users"): Cell(
        ADMIN_CREATED,
        ADMIN_ONLY,
        lambda d, u: {"username": f"new-{u}", "role": "viewer", "scopes": [IN_STORE]},
    ),
    ("POST", "/api/tokens"): Cell(
        ADMIN_CREATED, ADMIN_ONLY, lambda d, u: {"name": f"t-{u}", "scopes": [IN_STORE]}
    ),
    ("GET", "/api/stores"): Cell(SIGNED_IN, SIGNED_IN),
    ("GET", "/api/stores/{uid}/view"): Cell(SIGNED_IN, (401, 404, 404, 404, 404)),
    ("GET", SNAPSHOT): Cell(SIGNED_IN, (401, 404, 404, 404, 404)),
    ("GET", "/api/incidents"): Cell(SIGNED_IN, SIGNED_IN),
    ("GET", "/api/incidents/stream"): Cell(SIGNED_IN, SIGNED_IN),
    ("GET", "/api/incidents/{uid}"): Cell(SIGNED_IN, (401, 404, 404, 404, 404)),
    ("POST", "/api/incidents/bulk"): Cell(
        ANALYST,
        ANALYST_IN_SCOPE,
        lambda d, u: {"uids": [_incident(d)], "action": "verdict", "value": "true_positive"},
    ),
    ("POST", "/api/incidents/{uid}/verdict"): Cell(
        ANALYST, ANALYST_IN_SCOPE, lambda d, u: {"verdict": "true_positive", "note": ""}
    ),
    ("POST", "/api/incidents/{uid}/assign"): Cell(
        ANALYST, ANALYST_IN_SCOPE, lambda d, u: {"assignee": None}
    ),
    ("POST", "/api/incidents/{uid}/comments"): Cell(
        ANALYST_CREATED, ANALYST_IN_SCOPE, lambda d, u: {"text": f"seen by {u}"}
    ),
    ("POST", "/api/incidents/{uid}/respond"): Cell(
        ANALYST, ANALYST_IN_SCOPE, lambda d, u: {"dry_run": True}
    ),
    ("GET", "/api/verdicts"): Cell(SIGNED_IN, SIGNED_IN),
    ("GET", "/api/approvals"): Cell(SIGNED_IN, SIGNED_IN),
    ("POST", "/api/approvals/{uid}/approve"): Cell(
        (401, 403, 403, 422, 422), (401, 403, 403, 404, 404), lambda d, u: {"reason": " "}
    ),
    ("POST", "/api/approvals/{uid}/reject"): Cell(
        (401, 403, 403, 422, 422), (401, 403, 403, 404, 404), lambda d, u: {"reason": ""}
    ),
    ("POST", "/api/hunt/search"): Cell(
        ANALYST,
        ANALYST_IN_SCOPE,
        lambda d, u: {"event_class": "pos_transaction", "store": IN_STORE, "limit": 5},
    ),
    ("POST", "/api/hunt/sql"): Cell(
        ANALYST, ANALYST, lambda d, u: {"sql": "SELECT count(*) AS n FROM pos_transaction"}
    ),
    ("GET", "/api/hunt/saved"): Cell(ANALYST, ANALYST),
    ("POST", "/api/hunt/saved"): Cell(
        ANALYST_CREATED,
        ANALYST_CREATED,
        lambda d, u: {"name": "no-sales", "query": {"event_class": "pos_transaction"}},
    ),
    ("GET", "/api/detections"): Cell(SIGNED_IN, SIGNED_IN),
    ("POST", "/api/detections/lint"): Cell(ANALYST, ANALYST, lambda d, u: {"yaml": "kind: nope"}),
    ("POST", "/api/detections/{uid}/enabled"): Cell(
        (401, 403, 403, 403, 200), ADMIN_ONLY, lambda d, u: {"enabled": True}
    ),
    ("PUT", "/api/detections/{uid}"): Cell(
        (401, 403, 403, 403, 422), ADMIN_ONLY, lambda d, u: {"yaml": "kind: [broken"}
    ),
    ("POST", "/api/detections/{uid}/backtest"): Cell(
        ANALYST, ANALYST, lambda d, u: {"since": "1h"}
    ),
    ("GET", "/api/health"): Cell(SIGNED_IN, SIGNED_IN),
    # raw records of no store: analysts with every store in scope (only admin-in here)
    ("GET", "/api/health/dead-letters"): Cell((401, 403, 403, 403, 200), ADMIN_ONLY),
}


def api_routes(routes: Sequence[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path) of every API route, through included routers (from the app's routes)."""
    return {
        (method, context.path)
        for context in iter_route_contexts(routes)
        if context.path.startswith("/api")
        for method in context.methods or ()
    }


def test_every_api_route_has_a_row_in_the_matrix() -> None:
    """A route added without deciding who may call it fails here."""
    assert api_routes(build_api().routes) == set(MATRIX)


def test_the_served_app_has_no_api_route_the_matrix_misses(world: World) -> None:
    """The app as served (screens mounted too) has exactly the API routes above."""
    assert api_routes(world.client.app.routes) == set(MATRIX)  # type: ignore[attr-defined]


@dataclass
class World:
    data: ConsoleData
    client: TestClient
    """Sends every request; each carries its caller's cookie and CSRF token itself."""
    sessions: dict[str, dict[str, str]]
    """Account -> the headers of its session."""

    def path(self, template: str) -> str:
        approval = self.data.approvals[0]
        if template == SNAPSHOT:
            return snapshot_url(0)  # a snapshot of store 031
        if template.startswith("/api/approvals/"):
            return template.replace("{uid}", approval)
        if template.startswith("/api/stores/"):
            return template.replace("{uid}", IN_STORE)
        if template.startswith("/api/detections/"):
            return template.replace("{uid}", RULE)
        return template.replace("{uid}", self.data.incident_of(IN_STORE))


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    data = copy_of(tmp_path_factory, "authz", request.config.cache)
    settings = settings_for(
        data.folder,
        stream_poll=timedelta(milliseconds=20),
        stream_lifetime=timedelta(milliseconds=100),
    )
    app = create_app(settings)
    with TestClient(app) as client:
        sessions = {}
        for role in ROLES[1:]:
            for side in ("in", "out"):
                sessions[f"{role}-{side}"] = _session(app, f"{role}-{side}")
        yield World(data, client, sessions)


def _session(app: object, user: str) -> dict[str, str]:
    browser = TestClient(app)  # type: ignore[arg-type]
    csrf = sign_in(browser, user)
    return {"Cookie": f"vigil_session={browser.cookies['vigil_session']}", "X-CSRF-Token": csrf}


def _call(world: World, method: str, template: str, role: str, side: str) -> int:
    user = f"{role}-{side}"
    cell = MATRIX[(method, template)]
    body = None if cell.body is None else cell.body(world.data, user)
    if template == "/api/auth/login":
        password = PASSWORD if role != "anonymous" else "not the password"
        name = user if role != "anonymous" else "viewer-in"
        fresh = TestClient(world.client.app)
        return fresh.post(template, json={"username": name, "password": password}).status_code
    if role == "anonymous":
        headers = {}
    elif template == "/api/auth/logout":
        headers = _session(world.client.app, user)  # its own session: the matrix keeps the others
    else:
        headers = world.sessions[user]
    path = world.path(template)
    if template == "/api/incidents/stream":
        with world.client.stream("GET", path, headers=headers) as response:
            return response.status_code
    return world.client.request(method, path, json=body, headers=headers).status_code


CELLS = [
    pytest.param(method, path, role, side, id=f"{method} {path} {role}-{side}")
    for (method, path) in sorted(MATRIX)
    for role in ROLES
    for side in ("in", "out")
]


@pytest.mark.parametrize(("method", "template", "role", "side"), CELLS)
def test_authorisation_matrix(
    world: World, method: str, template: str, role: str, side: str
) -> None:
    cell = MATRIX[(method, template)]
    expected = (cell.inside if side == "in" else cell.outside)[ROLES.index(role)]
    assert _call(world, method, template, role, side) == expected
