"""What the page routes need to know about the person asking: who they are, nothing more.

The pages are shells; every figure on them comes from the public API in the browser.
The server side only decides *whether* to send a shell (signed in or not) and fills
the navigation, so it needs a signed-in user and the session's CSRF token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.requests import Request

ROLES = ("viewer", "analyst", "approver", "admin")
"""Cumulative roles, weakest first (the API contract)."""


@dataclass(frozen=True)
class PageUser:
    """The signed-in user as the shells show them; the API decides what they may do."""

    username: str
    roles: tuple[str, ...]
    csrf_token: str

    def can(self, role: str) -> bool:
        """True when the user holds `role` or a stronger one (roles are cumulative)."""
        if role not in ROLES:
            raise UnknownRoleError(role)
        rank = ROLES.index(role)
        return any(held in ROLES and ROLES.index(held) >= rank for held in self.roles)


class SessionReader(Protocol):
    """Finds the signed-in user of a request from its session cookie, or None."""

    def __call__(self, request: Request) -> PageUser | None: ...


class WebError(Exception):
    """Base of the console pages' errors."""


class UnknownRoleError(WebError):
    """A role name the console does not define."""

    def __init__(self, role: str) -> None:
        super().__init__(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
