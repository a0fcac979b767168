"""Accounts and sessions: first-run setup, sign-in, cookies, session fixation, CSRF, API
tokens, throttling, expiry; passwords are never logged, stored in clear or returned."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from console_fixtures import NOW, empty_copy, settings_for
from vigil.cli_console import app as console_cli
from vigil.console import create_app
from vigil.console.auth.types import Role
from vigil.store.models import AuditEntry, ConsoleUser

ADMIN_PASSWORD = "a long admin password 1"


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, clock: Clock) -> Iterator[TestClient]:
    """A console with no accounts yet (as `vigil init` leaves a folder)."""
    folder = empty_copy(tmp_path_factory, "auth")
    app = create_app(settings_for(folder, clock=clock, login_attempts=3))
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def admin(client: TestClient) -> str:
    """The first admin, created through the first-run flow (the module's tests share it)."""
    assert client.get("/api/setup").json() == {"needed": True}
    created = client.post("/api/setup", json={"username": "root", "password": ADMIN_PASSWORD})
    assert created.status_code == 201
    assert created.json() == {"username": "root", "roles": list(Role), "scopes": ["*"]}
    return "root"


def fresh(client: TestClient) -> TestClient:
    """Another browser on the same app: no cookies, no headers."""
    return TestClient(client.app)


def login(client: TestClient, username: str, password: str) -> str:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    return token


def test_setup_happens_once_and_then_is_refused(client: TestClient, admin: str) -> None:
    assert client.get("/api/setup").json() == {"needed": False}
    again = client.post("/api/setup", json={"username": "mallory", "password": "x" * 20})
    assert again.status_code == 409
    assert "set up already" in again.json()["detail"]


def test_setup_refuses_a_short_password(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = create_app(settings_for(empty_copy(tmp_path_factory, "short")))
    with TestClient(app) as client:
        response = client.post("/api/setup", json={"username": "root", "password": "short"})
        assert response.status_code == 422
        assert "12 characters" in response.json()["detail"]
        assert client.get("/api/setup").json() == {"needed": True}


def test_login_sets_a_strict_http_only_cookie(client: TestClient, admin: str) -> None:
    browser = fresh(client)
    response = browser.post(
        "/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"username": "root", "roles": list(Role), "scopes": ["*"]}
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("vigil_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # this test console allows http on localhost
    me = browser.get("/api/auth/me").json()
    assert me["username"] == "root"
    assert me["csrf_token"] == body["csrf_token"]


def test_cookie_is_secure_unless_http_is_allowed(tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = empty_copy(tmp_path_factory, "secure")
    app = create_app(settings_for(folder, allow_http=False))
    with TestClient(app, base_url="https://testserver") as client:
        client.post("/api/setup", json={"username": "root", "password": ADMIN_PASSWORD})
        response = client.post(
            "/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD}
        )
        assert "Secure" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("username", "password"),
    [("root", "wrong password, long"), ("nobody", ADMIN_PASSWORD), ("", "")],
)
def test_bad_credentials_get_one_answer(
    client: TestClient, admin: str, username: str, password: str
) -> None:
    response = fresh(client).post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "wrong user name or password"}
    assert "set-cookie" not in response.headers


def test_failed_sign_ins_are_throttled_per_user(client: TestClient, admin: str) -> None:
    browser = fresh(client)
    csrf = login(browser, "root", ADMIN_PASSWORD)
    created = browser.post(
        "/api/users",
        json={"username": "target", "role": "viewer", "scopes": ["031"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert created.status_code == 201
    password = created.json()["password"]
    for _ in range(3):
        assert (
            fresh(client)
            .post("/api/auth/login", json={"username": "target", "password": "guess guess guess"})
            .status_code
            == 401
        )
    blocked = fresh(client).post(
        "/api/auth/login", json={"username": "target", "password": password}
    )
    assert blocked.status_code == 429
    assert "try again" in blocked.json()["detail"]
    assert (
        fresh(client)
        .post("/api/auth/login", json={"username": "root", "password": ADMIN_PASSWORD})
        .status_code
        == 200
    )  # another account is not locked out


def test_a_session_id_planted_before_login_is_not_the_one_after(
    client: TestClient, admin: str
) -> None:
    browser = fresh(client)
    planted = "attacker-chosen-session-id"
    browser.cookies.set("vigil_session", planted, domain="testserver.local")
    assert browser.get("/api/auth/me").status_code == 401
    login(browser, "root", ADMIN_PASSWORD)
    issued = browser.cookies.get("vigil_session")
    assert issued
    assert issued != planted
    attacker = fresh(client)
    attacker.cookies.set("vigil_session", planted)
    assert attacker.get("/api/auth/me").status_code == 401


def test_signing_in_again_ends_the_session_the_browser_had(client: TestClient, admin: str) -> None:
    browser = fresh(client)
    login(browser, "root", ADMIN_PASSWORD)
    first = browser.cookies.get("vigil_session")
    login(browser, "root", ADMIN_PASSWORD)
    second = browser.cookies.get("vigil_session")
    assert first != second
    old = fresh(client)
    old.cookies.set("vigil_session", first or "")
    assert old.get("/api/auth/me").status_code == 401


def test_logout_ends_the_session(client: TestClient, admin: str) -> None:
    browser = fresh(client)
    csrf = login(browser, "root", ADMIN_PASSWORD)
    cookie = browser.cookies.get("vigil_session") or ""
    assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    replay = fresh(client)
    replay.cookies.set("vigil_session", cookie)
    assert replay.get("/api/auth/me").status_code == 401


def test_sessions_expire(client: TestClient, admin: str, clock: Clock) -> None:
    browser = fresh(client)
    login(browser, "root", ADMIN_PASSWORD)
    try:
        clock.now = NOW + timedelta(hours=12, seconds=1)
        assert browser.get("/api/auth/me").status_code == 401
    finally:
        clock.now = NOW


@pytest.mark.parametrize(
    ("header", "status"),
    [(None, 403), ("", 403), ("not-the-token", 403), ("right", 201)],
)
def test_unsafe_requests_need_the_session_csrf_token(
    client: TestClient, admin: str, header: str | None, status: int
) -> None:
    browser = fresh(client)
    csrf = login(browser, "root", ADMIN_PASSWORD)
    headers = {} if header is None else {"X-CSRF-Token": csrf if header == "right" else header}
    response = browser.post(
        "/api/tokens", json={"name": "csrf probe", "scopes": ["*"]}, headers=headers
    )
    assert response.status_code == status, response.text
    if status == 403:
        assert "CSRF" in response.json()["detail"]


def test_api_tokens_are_shown_once_stored_hashed_and_need_no_csrf(
    client: TestClient, admin: str
) -> None:
    browser = fresh(client)
    csrf = login(browser, "root", ADMIN_PASSWORD)
    made = browser.post(
        "/api/tokens",
        json={"name": "siem", "role": "viewer", "scopes": ["region:west"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert token.startswith("vgt_")
    machine = fresh(client)
    machine.headers["Authorization"] = f"Bearer {token}"
    me = machine.get("/api/auth/me").json()
    assert me == {
        "username": "token:siem",
        "roles": ["viewer"],
        "scopes": ["region:west"],
        "csrf_token": None,
    }
    # A viewer token may not change things, CSRF or not.
    assert machine.post("/api/tokens", json={"name": "x", "scopes": ["*"]}).status_code == 403
    console = client.app.state.console  # type: ignore[attr-defined]
    with console.database.session() as session:
        from vigil.store.models import ConsoleToken

        stored = session.scalars(select(ConsoleToken)).all()
    assert stored
    assert all(token not in (row.token_hash, row.name) for row in stored)


@pytest.mark.parametrize(
    "header",
    ["Bearer vgt_0000_not-a-real-token", "Bearer nonsense", "Basic cm9vdDpwYXNz", "Bearer "],
)
def test_bad_api_tokens_are_refused(client: TestClient, header: str) -> None:
    response = fresh(client).get("/api/auth/me", headers={"Authorization": header})
    assert response.status_code == 401


def test_an_admin_cannot_grant_more_than_they_hold(client: TestClient, admin: str) -> None:
    browser = fresh(client)
    csrf = login(browser, "root", ADMIN_PASSWORD)
    made = browser.post(
        "/api/users",
        json={"username": "westadmin", "role": "admin", "scopes": ["region:west"]},
        headers={"X-CSRF-Token": csrf},
    ).json()
    regional = fresh(client)
    regional_csrf = login(regional, "westadmin", made["password"])
    wider = regional.post(
        "/api/tokens",
        json={"name": "everything", "role": "viewer", "scopes": ["*"]},
        headers={"X-CSRF-Token": regional_csrf},
    )
    assert wider.status_code == 403
    outside = regional.post(
        "/api/users",
        json={"username": "chicago", "role": "viewer", "scopes": ["112"]},
        headers={"X-CSRF-Token": regional_csrf},
    )
    assert outside.status_code == 403
    unknown = browser.post(
        "/api/users",
        json={"username": "ghost", "role": "viewer", "scopes": ["region:atlantis"]},
        headers={"X-CSRF-Token": csrf},
    )
    assert unknown.status_code == 422
    assert "atlantis" in unknown.json()["detail"]


def test_passwords_are_never_logged_returned_or_stored_in_clear(
    tmp_path_factory: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Sup3r-secret passphrase!"
    caplog.set_level(logging.DEBUG)
    app = create_app(settings_for(empty_copy(tmp_path_factory, "secret")))
    bodies = []
    with TestClient(app) as client:
        bodies.append(client.post("/api/setup", json={"username": "root", "password": secret}))
        bodies.append(
            client.post("/api/auth/login", json={"username": "root", "password": secret + "x"})
        )
        bodies.append(client.post("/api/auth/login", json={"username": "root", "password": secret}))
        bodies.append(client.get("/api/auth/me"))
        bodies.append(client.get("/api/users"))
        console = app.state.console
        with console.database.session() as session:
            audit = json.dumps(
                [
                    [e.actor, e.action, e.target, e.detail]
                    for e in session.scalars(select(AuditEntry))
                ]
            )
            hashes = [row.password_hash for row in session.scalars(select(ConsoleUser))]
    assert [response.status_code for response in bodies] == [201, 401, 200, 200, 200]
    assert all(secret not in response.text for response in bodies)
    assert secret not in caplog.text
    assert "console.login.failed" in audit
    assert '"console.login"' in audit
    assert secret not in audit
    assert hashes
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert all(secret not in h for h in hashes)


def test_cli_create_user_prints_a_password_that_signs_in(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    folder = empty_copy(tmp_path_factory, "cli")
    result = CliRunner().invoke(
        console_cli,
        ["create-user", "erossi", "--role", "approver", "--scope", "031", "--data", str(folder)],
    )
    assert result.exit_code == 0, result.output
    password = result.output.split("Password (shown once):")[1].strip()
    assert len(password) >= 12
    app = create_app(settings_for(folder))
    with TestClient(app) as client:
        login(client, "erossi", password)
        assert client.get("/api/auth/me").json()["roles"] == ["viewer", "analyst", "approver"]
    again = CliRunner().invoke(
        console_cli, ["create-user", "erossi", "--role", "viewer", "-s", "*", "--data", str(folder)]
    )
    assert again.exit_code == 1
    assert "exists already" in again.output
