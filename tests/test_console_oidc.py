"""OIDC sign-in against a real OpenID provider on 127.0.0.1 (tests/oidc_provider.py).

The provider is a separate HTTP server with its own keys; the console is the real
app; the browser is an httpx client following the redirects by hand, so each hop
(console -> provider -> console) is asserted. The browser test of the same flow is
in test_console_e2e.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey

from console_fixtures import PASSWORD, ConsoleData, copy_of, settings_for
from oidc_provider import PROVIDER_WARNINGS, running_provider, set_claims
from vigil.console import create_app
from vigil.console.auth.oidc import OidcClient
from vigil.console.auth.oidc_config import (
    CONSOLE_FILE,
    OidcConfig,
    OidcConfigError,
    RoleRule,
    load_oidc_config,
)
from vigil.console.auth.types import OidcRefusal, OidcRefusedError, Role
from vigil.console.state import Console

pytestmark = pytest.mark.filterwarnings(PROVIDER_WARNINGS)

CLIENT_ID = "vigil-console"
SECRET = "s3cret-of-the-console"
CALLBACK = "http://testserver/api/auth/oidc/callback"
TOKEN_LIFETIME = timedelta(minutes=5)
"""How long the provider's ID tokens live (shorter than a pending sign-in's ten minutes)."""
RULES = [
    RoleRule(value="soc-admins", role=Role.ADMIN, scopes=["*"]),
    RoleRule(value="soc-analysts", role=Role.ANALYST, scopes=["region:west"]),
    RoleRule(value="store-managers", role=Role.VIEWER, scopes_claim="stores"),
]


@dataclass
class Clock:
    """The console's clock: real time (the provider stamps real times), shifted on demand."""

    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class World:
    issuer: str
    data: ConsoleData
    app: object
    clock: Clock

    def browser(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]

    def console(self) -> Console:
        console: Console = self.app.state.console  # type: ignore[attr-defined]
        return console

    def oidc(self) -> OidcClient:
        client = self.console().oidc
        assert client is not None
        return client

    def user(self, sub: str, **claims: object) -> None:
        set_claims(self.issuer, sub, **claims)


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with running_provider(token_lifetime=TOKEN_LIFETIME) as url:
        yield url


@pytest.fixture(scope="module")
def world(
    issuer: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[World]:
    data = copy_of(tmp_path_factory, "oidc", request.config.cache)
    (data.folder / "oidc-secret").write_text(f"{SECRET}\n")
    config = OidcConfig(
        name="Contoso SSO",
        issuer=issuer,
        client_id=CLIENT_ID,
        client_secret_file="oidc-secret",
        roles=RULES,
    )
    clock = Clock()
    app = create_app(settings_for(data.folder, clock=clock, oidc=config))
    with TestClient(app):
        yield World(issuer, data, app, clock)


def _to_provider(browser: TestClient, next_page: str = "/queue") -> str:
    """Start at the console; returns the provider's authorize URL it redirects to."""
    response = browser.get("/api/auth/oidc/login", params={"next": next_page})
    assert response.status_code == 303
    assert "vigil_oidc" in response.cookies
    return response.headers["location"]


def _authorize(authorize_url: str, sub: str) -> str:
    """The person signs in at the provider as `sub`; returns the callback URL it sends back."""
    response = httpx.post(authorize_url, data={"sub": sub})
    assert response.status_code == 302, response.text
    return response.headers["location"]


def _back(browser: TestClient, callback: str) -> httpx.Response:
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return browser.get(f"{parts.path}?{parts.query}")


def _sign_in(world: World, sub: str, next_page: str = "/queue") -> tuple[TestClient, str]:
    browser = world.browser()
    answer = _back(browser, _authorize(_to_provider(browser, next_page), sub))
    assert answer.status_code == 303
    return browser, answer.headers["location"]


def _refusal(location: str) -> str:
    assert location.startswith("/login?")
    return parse_qs(urlsplit(location).query).get("oidc_error", [""])[0]


# --- the flow ------------------------------------------------------------------------------


def test_the_authorize_request_carries_pkce_state_and_nonce(world: World) -> None:
    url = _to_provider(world.browser())
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{world.issuer}/oauth2/authorize?")
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43  # base64url of a SHA-256, no padding
    assert len(query["state"][0]) >= 40
    assert len(query["nonce"][0]) >= 40
    assert set(query["scope"][0].split()) == {"openid", "profile", "email"}


def test_a_mapped_user_signs_in_and_the_session_works_like_a_local_one(world: World) -> None:
    world.user("sub-alice", preferred_username="alice", groups=["staff", "soc-analysts"])
    browser, location = _sign_in(world, "sub-alice", "/queue")
    assert location == "/login?next=%2Fqueue&signed_in=oidc"
    assert "vigil_session" in browser.cookies
    me = browser.get("/api/auth/me").json()
    assert me["username"] == "alice"
    assert me["roles"] == ["viewer", "analyst"]
    assert me["scopes"] == ["region:west"]
    # the sign-in page, seen with the new session, goes straight on
    assert browser.get(location).headers["location"] == "/queue"
    # an unsafe call needs the session's CSRF token, as for a local session
    incident = world.data.incident_of("031")
    comment = {"text": "looked at it"}
    assert browser.post(f"/api/incidents/{incident}/comments", json=comment).status_code == 403
    headers = {"X-CSRF-Token": me["csrf_token"]}
    created = browser.post(f"/api/incidents/{incident}/comments", json=comment, headers=headers)
    assert created.status_code == 201
    # the account has no password: password sign-in never works for it
    local = world.browser().post(
        "/api/auth/login", json={"username": "alice", "password": PASSWORD}
    )
    assert local.status_code == 401


def test_the_next_sign_in_brings_role_and_scope_up_to_date(world: World) -> None:
    world.user("sub-bo", preferred_username="bo", groups=["soc-admins"])
    first, _ = _sign_in(world, "sub-bo")
    assert first.get("/api/auth/me").json()["roles"][-1] == "admin"
    world.user("sub-bo", preferred_username="bo", groups=["soc-analysts"])
    second, _ = _sign_in(world, "sub-bo")
    me = second.get("/api/auth/me").json()
    assert (me["roles"][-1], me["scopes"]) == ("analyst", ["region:west"])
    # the admin session of before now has the analyst's rights too (roles are read per request)
    assert first.get("/api/users").status_code == 403


def test_sign_in_renews_the_session_the_browser_came_with(world: World) -> None:
    world.user("sub-cy", preferred_username="cy", groups=["soc-analysts"])
    browser, _ = _sign_in(world, "sub-cy")
    before = browser.cookies["vigil_session"]
    authorize = _to_provider(browser)
    answer = _back(browser, _authorize(authorize, "sub-cy"))
    assert answer.status_code == 303
    after = browser.cookies["vigil_session"]
    assert after != before
    stale = world.browser()
    stale.cookies.set("vigil_session", before)
    assert stale.get("/api/auth/me").status_code == 401


def test_a_store_manager_sees_only_the_stores_her_claims_name(world: World) -> None:
    world.user("sub-dee", preferred_username="dee", groups=["store-managers"], stores=["112"])
    browser, _ = _sign_in(world, "sub-dee")
    me = browser.get("/api/auth/me").json()
    assert (me["roles"], me["scopes"]) == (["viewer"], ["112"])
    items = browser.get("/api/incidents", params={"limit": 200}).json()["items"]
    assert items
    assert {store for item in items for store in item["stores"]} == {"112"}
    assert {item["uid"] for item in items} == set(world.data.incidents["112"])
    outside = world.data.incident_of("031")
    assert browser.get(f"/api/incidents/{outside}").status_code == 404
    assert browser.get("/api/incidents/" + world.data.incident_of("112")).status_code == 200


# --- refusals ------------------------------------------------------------------------------


def test_a_user_without_a_mapped_role_is_refused_with_a_clear_page(world: World) -> None:
    world.user("sub-eve", preferred_username="eve", groups=["cleaners"])
    browser, location = _sign_in(world, "sub-eve")
    assert _refusal(location) == OidcRefusal.NO_ROLE
    assert "vigil_session" not in browser.cookies
    assert browser.get("/api/auth/me").status_code == 401
    page = browser.get(location)
    assert page.status_code == 200
    assert "has no Vigil role" in page.text
    with world.console().database.session() as session:
        from vigil.store.models import ConsoleUser

        assert session.get(ConsoleUser, "eve") is None


def test_claims_that_name_no_known_store_are_refused(world: World) -> None:
    world.user("sub-fay", preferred_username="fay", groups=["store-managers"], stores=["999"])
    _, location = _sign_in(world, "sub-fay")
    assert _refusal(location) == OidcRefusal.NO_SCOPE


def test_a_user_name_of_a_local_account_is_not_taken_over(world: World) -> None:
    world.user("sub-mallory", preferred_username="admin-in", groups=["soc-analysts"])
    browser, location = _sign_in(world, "sub-mallory")
    assert _refusal(location) == OidcRefusal.ACCOUNT
    assert "vigil_session" not in browser.cookies


def test_another_subject_with_the_same_user_name_is_refused(world: World) -> None:
    world.user("sub-gil", preferred_username="gil", groups=["soc-analysts"])
    _sign_in(world, "sub-gil")
    world.user("sub-gil-2", preferred_username="gil", groups=["soc-admins"])
    _, location = _sign_in(world, "sub-gil-2")
    assert _refusal(location) == OidcRefusal.ACCOUNT


def test_a_wrong_state_is_refused(world: World) -> None:
    world.user("sub-hal", preferred_username="hal", groups=["soc-analysts"])
    browser = world.browser()
    callback = _authorize(_to_provider(browser), "sub-hal")
    forged = callback.replace("state=", "state=x")
    answer = _back(browser, forged)
    assert _refusal(answer.headers["location"]) == OidcRefusal.STATE
    assert "vigil_session" not in browser.cookies


def test_a_callback_in_another_browser_or_a_second_time_is_refused(world: World) -> None:
    world.user("sub-ivy", preferred_username="ivy", groups=["soc-analysts"])
    started = world.browser()
    callback = _authorize(_to_provider(started), "sub-ivy")
    # someone else's browser (no binding cookie): login CSRF fails, and uses the state up
    stranger = world.browser()
    assert _refusal(_back(stranger, callback).headers["location"]) == OidcRefusal.STATE
    assert _refusal(_back(started, callback).headers["location"]) == OidcRefusal.STATE
    # a fresh sign-in in one browser works once, not twice
    callback = _authorize(_to_provider(started), "sub-ivy")
    assert _back(started, callback).headers["location"].endswith("signed_in=oidc")
    assert _refusal(_back(started, callback).headers["location"]) == OidcRefusal.STATE


def test_the_providers_refusal_is_reported(world: World) -> None:
    browser = world.browser()
    authorize = _to_provider(browser)
    callback = httpx.post(authorize, data={"action": "deny"}).headers["location"]
    assert "error=access_denied" in callback
    assert _refusal(_back(browser, callback).headers["location"]) == OidcRefusal.DENIED


def test_an_expired_id_token_is_refused(world: World) -> None:
    """Tokens live five minutes; nine minutes later (the sign-in still pending) one has expired."""
    world.user("sub-jo", preferred_username="jo", groups=["soc-analysts"])
    browser = world.browser()
    callback = _authorize(_to_provider(browser), "sub-jo")
    world.clock.offset = timedelta(minutes=9)
    try:
        answer = _back(browser, callback)
    finally:
        world.clock.offset = timedelta()
    assert _refusal(answer.headers["location"]) == OidcRefusal.UNVERIFIED
    assert "vigil_session" not in browser.cookies


# --- the ID token checks, on tokens the provider really issued --------------------------------


def _id_token(world: World, sub: str, nonce: str, client_id: str = CLIENT_ID) -> str:
    """An ID token from the provider's token endpoint (code flow, as any client gets one)."""
    authorize = httpx.post(
        f"{world.issuer}/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid profile",
            "state": "s",
            "nonce": nonce,
        },
        data={"sub": sub},
    )
    code = parse_qs(urlsplit(authorize.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        f"{world.issuer}/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK},
        auth=(client_id, SECRET),
    ).json()
    token: str = tokens["id_token"]
    return token


def _segment(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _payload(token: str) -> dict[str, object]:
    part = token.split(".")[1]
    loaded: dict[str, object] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def test_a_genuine_id_token_passes(world: World) -> None:
    world.user("sub-kim", preferred_username="kim", groups=["soc-analysts"])
    claims = world.oidc().verify_id_token(_id_token(world, "sub-kim", "n-1"), "n-1")
    assert (claims["sub"], claims["aud"], claims["iss"]) == ("sub-kim", [CLIENT_ID], world.issuer)


def test_a_tampered_id_token_is_refused(world: World) -> None:
    world.user("sub-lee", preferred_username="lee", groups=["cleaners"])
    genuine = _id_token(world, "sub-lee", "n-2")
    header, _, signature = genuine.split(".")
    promoted = {**_payload(genuine), "groups": ["soc-admins"]}
    tampered = f"{header}.{_segment(promoted)}.{signature}"
    with pytest.raises(OidcRefusedError) as refused:
        world.oidc().verify_id_token(tampered, "n-2")
    assert refused.value.reason == OidcRefusal.UNVERIFIED


@pytest.mark.parametrize("kid", [None, "rotated-key"], ids=["same header", "unknown key id"])
def test_a_token_signed_with_another_key_is_refused(world: World, kid: str | None) -> None:
    world.user("sub-max", preferred_username="max", groups=["soc-admins"])
    genuine = _id_token(world, "sub-max", "n-3")
    header = json.loads(base64.urlsafe_b64decode(genuine.split(".")[0] + "=="))
    if kid is not None:
        header["kid"] = kid
    forger = RSAKey.generate_key(2048)
    forged = jwt.encode(header, _payload(genuine), forger)
    with pytest.raises(OidcRefusedError) as refused:
        world.oidc().verify_id_token(forged, "n-3")
    assert refused.value.reason == OidcRefusal.UNVERIFIED


@pytest.mark.parametrize(
    ("nonce_sent", "nonce_expected", "client_id"),
    [
        pytest.param("n-4", "another nonce", CLIENT_ID, id="wrong nonce"),
        pytest.param("n-5", "n-5", "another-client", id="another audience"),
    ],
)
def test_id_tokens_for_another_sign_in_or_client_are_refused(
    world: World, nonce_sent: str, nonce_expected: str, client_id: str
) -> None:
    world.user("sub-ned", preferred_username="ned", groups=["soc-analysts"])
    token = _id_token(world, "sub-ned", nonce_sent, client_id)
    with pytest.raises(OidcRefusedError) as refused:
        world.oidc().verify_id_token(token, nonce_expected)
    assert refused.value.reason == OidcRefusal.UNVERIFIED


def test_an_unsigned_token_is_refused(world: World) -> None:
    world.user("sub-oz", preferred_username="oz", groups=["soc-admins"])
    genuine = _payload(_id_token(world, "sub-oz", "n-6"))
    unsigned = f"{_segment({'alg': 'none'})}.{_segment(genuine)}."
    with pytest.raises(OidcRefusedError) as refused:
        world.oidc().verify_id_token(unsigned, "n-6")
    assert refused.value.reason == OidcRefusal.UNVERIFIED


# --- configuration and the provider being away ---------------------------------------------


def test_the_console_says_which_provider_it_offers(world: World) -> None:
    answer = world.browser().get("/api/auth/oidc").json()
    assert answer == {
        "enabled": True,
        "name": "Contoso SSO",
        "login_url": "/api/auth/oidc/login",
    }


def test_without_oidc_the_routes_say_so(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = copy_of(tmp_path_factory, "no-oidc")
    with TestClient(create_app(settings_for(data.folder))) as browser:
        assert browser.get("/api/auth/oidc").json()["enabled"] is False
        assert browser.get("/api/auth/oidc/login").status_code == 404
        assert browser.get("/api/auth/oidc/callback?state=a&code=b").status_code == 404


def test_an_unreachable_provider_sends_people_back_with_a_reason(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = copy_of(tmp_path_factory, "oidc-away")
    (data.folder / "oidc-secret").write_text(SECRET)
    away = OidcConfig(
        name="Away",
        issuer="http://127.0.0.1:9",
        client_id=CLIENT_ID,
        client_secret_file="oidc-secret",
        roles=RULES,
        timeout_s=2,
    )
    app = create_app(settings_for(data.folder, oidc=away))
    with TestClient(app, follow_redirects=False) as browser:
        response = browser.get("/api/auth/oidc/login")
    assert response.status_code == 303
    assert _refusal(response.headers["location"]) == OidcRefusal.PROVIDER


def test_console_yaml_configures_oidc(tmp_path: Path) -> None:
    (tmp_path / CONSOLE_FILE).write_text(
        "version: 1\n"
        "oidc:\n"
        "  name: Contoso SSO\n"
        "  issuer: https://sso.contoso.example/realms/retail\n"
        "  client_id: vigil-console\n"
        "  client_secret_env: VIGIL_OIDC_SECRET\n"
        "  roles:\n"
        "    - {claim: groups, value: soc-admins, role: admin, scopes: ['*']}\n"
        "    - {value: store-managers, role: viewer, scopes_claim: stores}\n"
    )
    config = load_oidc_config(tmp_path)
    assert config is not None
    assert config.client_secret(tmp_path, {"VIGIL_OIDC_SECRET": "x"}) == "x"
    with pytest.raises(OidcConfigError):
        config.client_secret(tmp_path, {})
    grant = config.grant({"groups": ["store-managers"], "stores": ["112", "127", 5]})
    assert grant is not None
    assert (grant.role, grant.scopes) == (Role.VIEWER, ("112", "127"))
    assert config.grant({"groups": "soc-admins"}) is not None
    assert config.grant({"groups": ["nobody"]}) is None
    assert load_oidc_config(tmp_path / "missing") is None
    (tmp_path / CONSOLE_FILE).write_text(
        "oidc: {name: X, issuer: 'https://sso.example', client_id: c,"
        " roles: [{value: g, role: viewer, scopes: ['*']}]}\n"
    )
    with pytest.raises(OidcConfigError, match="one of"):
        load_oidc_config(tmp_path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("issuer: http://sso.example", "https"),
        ("issuer: https://sso.example\n  scopes: [profile]", "openid"),
        ("issuer: https://sso.example\n  unknown: 1", "unknown"),
        ("issuer: https://sso.example\n  client_secret_file: s", "one of"),
    ],
)
def test_bad_oidc_settings_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    (tmp_path / CONSOLE_FILE).write_text(
        "oidc:\n  name: X\n  client_id: c\n  client_secret_env: S\n"
        f"  roles: [{{value: g, role: viewer, scopes: ['*']}}]\n  {text}\n"
    )
    with pytest.raises(OidcConfigError, match=problem):
        load_oidc_config(tmp_path)


def test_a_rule_without_a_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="scopes"):
        RoleRule(value="g", role=Role.VIEWER)
