"""Request dependencies: the console, the caller (session or API token), role checks, CSRF.

A cookie-authenticated unsafe request (POST, PUT, PATCH, DELETE) must carry
`X-CSRF-Token` equal to its session's token, or it is refused (403) before
anything else runs; a bearer token needs none. Role checks are cumulative:
`Analyst` admits analysts, approvers and admins.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from vigil.console.auth.types import Principal, Role
from vigil.console.errors import ForbiddenError, NotSignedInError
from vigil.console.state import Console

COOKIE = "vigil_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


def source_of(request: Request) -> str:
    """Where a request came from, for the audit log and the sign-in throttle."""
    return request.client.host if request.client else "unknown"


def current_principal(request: Request, console: ConsoleDep) -> Principal:
    """The caller; 401 without valid credentials, 403 for a session's unsafe call without CSRF."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedInError("use `Authorization: Bearer <API token>`")
        return console.tokens.principal(token.strip())
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise NotSignedInError("not signed in")
    principal = console.accounts.principal(cookie)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = principal.csrf_token or ""
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise ForbiddenError("missing or wrong CSRF token (X-CSRF-Token)")
    return principal


def require(role: Role) -> Callable[[Principal], Principal]:
    """A dependency admitting callers whose role includes `role`."""

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.can(role):
            raise ForbiddenError(
                f"this needs the {role} role; {principal.name} is {principal.role}"
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Analyst = Annotated[Principal, Depends(require(Role.ANALYST))]
Approver = Annotated[Principal, Depends(require(Role.APPROVER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]


def require_everywhere(principal: Principal) -> None:
    """Estate-wide changes (detections) need a scope of every store."""
    if not principal.scope.everything:
        raise ForbiddenError("this changes every store: it needs the `*` scope")
