"""SCIM 2.0 user deactivation against a real SCIM server (scim2-server, run by the test),
and forced password change against local stand-ins of the Okta and Graph endpoints."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from scim2_server.memory import InMemoryStorage
from scim2_server.service import ScimService
from scim2_server.testserver.application import BearerTokenApplication
from scim2_server.testserver.cli import ThreadingWSGIServer
from scim2_server.utils import load_default_provider

from respond_http import http_receiver
from vigil.respond import ExecutionContext, FailureKind, actions, rollback
from vigil.respond.adapters.idp import EntraPasswordResetter, OktaPasswordResetter
from vigil.respond.adapters.scim import ScimDirectory
from vigil.respond.backends import Backends, PasswordResetter
from vigil.respond.recording import FakeSleep

TOKEN = "scim-test-token-5d1f"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Scim:
    base_url: str

    def create(self, user_name: str, active: bool = True) -> str:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "active": active,
        }
        response = httpx.post(f"{self.base_url}/Users", json=body, headers=_auth())
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def active(self, user_id: str) -> bool:
        response = httpx.get(f"{self.base_url}/Users/{user_id}", headers=_auth())
        assert response.status_code == 200, response.text
        return bool(response.json().get("active", True))


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def scim() -> Iterator[Scim]:
    provider = load_default_provider()
    app = BearerTokenApplication(
        InMemoryStorage(), provider, service=ScimService(provider), bearer_tokens=[TOKEN]
    )
    server = make_server(
        "127.0.0.1", 0, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Scim(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _context(
    directory: ScimDirectory | None = None,
    resetter: PasswordResetter | None = None,
    key: str = "inc-9/disable",
) -> ExecutionContext:
    return ExecutionContext(
        backends=Backends(directory=directory, password_resetter=resetter),
        key=key,
        sleep=FakeSleep(),
        rng=random.Random(3),
    )


@pytest.mark.parametrize("style", ["path", "value"])
def test_disable_user_by_name_and_roll_back(scim: Scim, style: Literal["path", "value"]) -> None:
    user_id = scim.create("vendor-hvac")
    scim.create("cashier-0417")
    directory = ScimDirectory(scim.base_url, TOKEN, patch_style=style)
    try:
        context = _context(directory)
        result = actions.get("disable_user")().run({"user_name": "vendor-hvac"}, context)
        assert result.ok, result.detail
        assert not scim.active(user_id)
        assert result.rollback is not None
        assert result.rollback.params.user_id == user_id  # type: ignore[attr-defined]

        assert rollback(result, context).ok
        assert scim.active(user_id)
    finally:
        directory.close()


def test_disable_is_idempotent_and_an_inactive_user_is_left_alone(scim: Scim) -> None:
    user_id = scim.create("former-manager", active=False)
    directory = ScimDirectory(scim.base_url, TOKEN)
    try:
        result = actions.get("disable_user")().run({"user_id": user_id}, _context(directory))
        assert result.ok
        assert result.rollback is None
        assert "already disabled" in result.detail
        assert not scim.active(user_id)
    finally:
        directory.close()


def test_an_unknown_user_fails_permanently_without_retries(scim: Scim) -> None:
    directory = ScimDirectory(scim.base_url, TOKEN)
    try:
        result = actions.get("disable_user")().run({"user_name": "nobody"}, _context(directory))
        assert not result.ok
        assert result.failure is not None
        assert result.failure.kind is FailureKind.PERMANENT
        assert "0 SCIM users are named 'nobody'" in result.failure.message
        assert len(result.attempts) == 1
    finally:
        directory.close()


def test_a_wrong_token_is_refused_and_never_shown(scim: Scim) -> None:
    user_id = scim.create("vendor-hvac")
    directory = ScimDirectory(scim.base_url, "wrong-token-77")
    try:
        result = actions.get("disable_user")().run({"user_id": user_id}, _context(directory))
        assert not result.ok
        assert result.failure is not None
        assert "HTTP 401" in result.failure.message
        assert "wrong-token-77" not in result.model_dump_json()
        assert scim.active(user_id)
    finally:
        directory.close()


def test_an_unreachable_server_is_retried_then_reported() -> None:
    directory = ScimDirectory("http://127.0.0.1:1/v2", TOKEN)
    try:
        context = _context(directory)
        result = actions.get("disable_user")().run({"user_name": "x"}, context)
        assert not result.ok
        assert result.failure is not None
        assert result.failure.kind is FailureKind.TRANSIENT
        assert len(result.attempts) == context.retry.max_attempts
        assert "cannot connect" in result.failure.message
    finally:
        directory.close()


def test_force_password_reset_speaks_okta() -> None:
    with http_receiver() as okta:
        resetter = OktaPasswordResetter(okta.url, "okta-token-1")
        result = actions.get("force_password_reset")().run(
            {"user_name": "alice@acme.example"}, _context(resetter=resetter)
        )
        resetter.close()
    assert result.ok, result.detail
    [request] = okta.requests
    assert request.method == "POST"
    assert request.path == "/api/v1/users/alice@acme.example/lifecycle/expire_password"
    assert request.headers["authorization"] == "SSWS okta-token-1"


def test_force_password_reset_speaks_microsoft_graph() -> None:
    with http_receiver() as graph:
        graph.answer((204, b""))
        resetter = EntraPasswordResetter("graph-token-1", graph_url=f"{graph.url}/v1.0")
        result = actions.get("force_password_reset")().run(
            {"user_id": "4f1c0e0a-9a55-4e0e-8a3e-2c5b8e7d1a11"}, _context(resetter=resetter)
        )
        resetter.close()
    assert result.ok, result.detail
    [request] = graph.requests
    assert request.method == "PATCH"
    assert request.path == "/v1.0/users/4f1c0e0a-9a55-4e0e-8a3e-2c5b8e7d1a11"
    assert request.headers["authorization"] == "Bearer graph-token-1"
    assert json.loads(request.body) == {"passwordProfile": {"forceChangePasswordNextSignIn": True}}
