"""`/api/setup`, `/api/auth/*`, `/api/users`, `/api/tokens`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse

from vigil.console.auth.oidc import PENDING_LIFETIME, OidcClient
from vigil.console.auth.schemas import (
    LoginCreate,
    LoginRead,
    MeRead,
    OidcRead,
    SetupCreate,
    SetupRead,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
)
from vigil.console.auth.types import (
    AuthError,
    OidcRefusal,
    OidcRefusedError,
    Principal,
    Role,
    Scope,
)
from vigil.console.deps import COOKIE, Admin, ConsoleDep, current_principal, source_of
from vigil.console.errors import ForbiddenError, InvalidInputError, NotFoundError
from vigil.console.state import Console
from vigil.console.web.router import safe_next

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/api", tags=["auth"])
Caller = Annotated[Principal, Depends(current_principal)]
OIDC_COOKIE = "vigil_oidc"
"""Binds a pending OIDC sign-in to the browser that started it (SameSite=Lax: it must come
back with the provider's cross-site redirect, where the Strict session cookie does not)."""
OIDC_PATH = "/api/auth/oidc"


@router.get("/setup")
def setup_status(console: ConsoleDep) -> SetupRead:
    """Whether the console still needs its first admin."""
    return SetupRead(needed=console.accounts.setup_needed())


@router.post("/setup", status_code=201)
def setup(body: SetupCreate, console: ConsoleDep, request: Request) -> UserRead:
    """Create the first admin (scope `*`); 409 once any account exists."""
    try:
        user, _ = console.accounts.create_user(
            body.username, body.password, Role.ADMIN, ["*"], f"setup@{source_of(request)}", True
        )
    except AuthError as error:
        raise InvalidInputError(str(error)) from error
    return UserRead.of(user)


@router.post("/auth/login")
def login(
    body: LoginCreate, console: ConsoleDep, request: Request, response: Response
) -> LoginRead:
    """Sign in: a new session (cookie `vigil_session`) and its CSRF token."""
    signed = console.accounts.sign_in(
        body.username, body.password, source_of(request), request.cookies.get(COOKIE)
    )
    _set_session_cookie(response, console, signed.session_id)
    return LoginRead(user=UserRead.of(signed.user), csrf_token=signed.csrf_token)


@router.get("/auth/oidc")
def oidc_status(console: ConsoleDep) -> OidcRead:
    """Whether OIDC sign-in is offered, and the provider's name for the sign-in button."""
    if console.oidc is None:
        return OidcRead(enabled=False, name=None, login_url=None)
    return OidcRead(enabled=True, name=console.oidc.config.name, login_url=f"{OIDC_PATH}/login")


@router.get("/auth/oidc/login", status_code=303, response_class=RedirectResponse)
def oidc_login(
    console: ConsoleDep,
    request: Request,
    next_page: Annotated[str, Query(alias="next", description="Page to show after.")] = "/",
) -> Response:
    """Start an OIDC sign-in: to the provider (with PKCE, state and nonce); 404 if none is set up."""
    oidc = _oidc_of(console)
    try:
        started = oidc.start(_redirect_uri(oidc, request), safe_next(next_page))
    except OidcRefusedError as refusal:
        return _refused(console, request, refusal)
    response = RedirectResponse(started.url, status_code=303)
    response.set_cookie(
        OIDC_COOKIE,
        started.browser,
        max_age=int(PENDING_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=console.settings.secure_cookies,
        path=OIDC_PATH,
    )
    return response


@router.get("/auth/oidc/callback", status_code=303, response_class=RedirectResponse)
def oidc_callback(
    console: ConsoleDep,
    request: Request,
    state: Annotated[str, Query(description="The state sent to the provider.")] = "",
    code: Annotated[str, Query(description="The authorization code.")] = "",
    error: Annotated[str | None, Query(description="The provider's refusal, if any.")] = None,
) -> Response:
    """The provider's redirect back: a new session, then the sign-in page goes on to `next`.

    Every refusal (state, token, no role...) goes to `/login?oidc_error=<reason>`.
    """
    oidc = _oidc_of(console)
    source = source_of(request)
    try:
        if error is not None:
            raise OidcRefusedError(OidcRefusal.DENIED, f"the provider answered {error[:80]}")
        finished = oidc.finish(state, code, request.cookies.get(OIDC_COOKIE))
        grant = oidc.config.grant(finished.identity.claims)
        signed = console.accounts.sign_in_oidc(
            finished.identity, grant, source, request.cookies.get(COOKIE)
        )
    except OidcRefusedError as refusal:
        return _refused(console, request, refusal)
    query = urlencode({"next": finished.next_page, "signed_in": "oidc"})
    response = RedirectResponse(f"/login?{query}", status_code=303)
    _set_session_cookie(response, console, signed.session_id)
    response.delete_cookie(
        OIDC_COOKIE, path=OIDC_PATH, httponly=True, secure=console.settings.secure_cookies
    )
    return response


@router.post("/auth/logout", status_code=204)
def logout(principal: Caller, console: ConsoleDep, response: Response) -> None:
    """End this session."""
    console.accounts.sign_out(principal)
    response.delete_cookie(
        COOKIE, httponly=True, samesite="strict", secure=console.settings.secure_cookies
    )


@router.get("/auth/me")
def me(principal: Caller) -> MeRead:
    """Who is signed in, with the session's CSRF token."""
    return MeRead.of_principal(principal)


@router.get("/users")
def list_users(principal: Admin, console: ConsoleDep) -> list[UserRead]:
    """The accounts whose scope is within the admin's (admins only)."""
    return [
        UserRead.of(user)
        for user in console.accounts.users()
        if Scope.parse(user.scopes, console.estate, strict=False).within(principal.scope)
    ]


@router.post("/users", status_code=201)
def create_user(body: UserCreate, principal: Admin, console: ConsoleDep) -> UserCreated:
    """A new account with a generated password, shown once; no wider than the admin's scope."""
    try:
        scope = Scope.parse(body.scopes, console.estate)
        if not scope.within(principal.scope):
            raise ForbiddenError(f"{principal.name} cannot grant a scope wider than their own")
        user, password = console.accounts.create_user(
            body.username, None, body.role, body.scopes, principal.name
        )
    except AuthError as error:
        raise InvalidInputError(str(error)) from error
    return UserCreated(user=UserRead.of(user), password=password)


@router.post("/tokens", status_code=201)
def create_token(body: TokenCreate, principal: Admin, console: ConsoleDep) -> TokenRead:
    """A new API token, shown once (admins only)."""
    lifetime = None if body.expires_in_days is None else timedelta(days=body.expires_in_days)
    try:
        issued = console.tokens.issue(principal, body.name, body.role, body.scopes, lifetime)
    except AuthError as error:
        raise InvalidInputError(str(error)) from error
    return TokenRead(
        uid=issued.uid,
        name=issued.name,
        role=issued.role,
        scopes=list(issued.scopes),
        token=issued.token,
    )


def _set_session_cookie(response: Response, console: Console, session_id: str) -> None:
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=int(console.settings.session_lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
        path="/",
    )


def _oidc_of(console: Console) -> OidcClient:
    if console.oidc is None:
        raise NotFoundError("OIDC sign-in is not configured (console.yaml, section oidc)")
    return console.oidc


def _redirect_uri(oidc: OidcClient, request: Request) -> str:
    """The callback URL the provider sends the browser back to (as registered there)."""
    return oidc.config.redirect_uri or str(request.url_for("oidc_callback"))


def _refused(console: Console, request: Request, refusal: OidcRefusedError) -> Response:
    """To the sign-in page, which explains the reason; the refusal is audited and logged."""
    logger.warning("OIDC sign-in refused: %s", refusal)
    console.accounts.oidc_refused(refusal, source_of(request))
    response = RedirectResponse(f"/login?oidc_error={refusal.reason}", status_code=303)
    response.delete_cookie(
        OIDC_COOKIE, path=OIDC_PATH, httponly=True, secure=console.settings.secure_cookies
    )
    return response
