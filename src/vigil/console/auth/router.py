"""`/api/setup`, `/api/auth/*`, `/api/users`, `/api/tokens`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from vigil.console.auth.schemas import (
    LoginCreate,
    LoginRead,
    MeRead,
    SetupCreate,
    SetupRead,
    TokenCreate,
    TokenRead,
    UserCreate,
    UserCreated,
    UserRead,
)
from vigil.console.auth.types import AuthError, Principal, Role, Scope
from vigil.console.deps import COOKIE, Admin, ConsoleDep, current_principal, source_of
from vigil.console.errors import ForbiddenError, InvalidInputError

router = APIRouter(prefix="/api", tags=["auth"])
Caller = Annotated[Principal, Depends(current_principal)]


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
    lifetime = console.settings.session_lifetime
    response.set_cookie(
        COOKIE,
        signed.session_id,
        max_age=int(lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=console.settings.secure_cookies,
        path="/",
    )
    return LoginRead(user=UserRead.of(signed.user), csrf_token=signed.csrf_token)


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
