"""Who is asking: roles (cumulative), scopes (stores and regions), the signed-in principal.

scope = Scope.parse(["region:west", "112"], estate)
scope.covers("031")            # True: 031 is in the west region
scope.covers_all(["031", "127"])   # False: 127 is not in scope
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from vigil.estate import Estate

EVERY_STORE = "*"
REGION = "region:"
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 12


class AuthError(Exception):
    """Base class of the account errors (the router answers each with its status)."""


class InvalidScopeError(AuthError):
    """A scope entry that names no store or region of the estate."""


class InvalidAccountError(AuthError):
    """A user name, password or role the console does not accept."""


class Role(StrEnum):
    """Cumulative: each role can do everything the ones before it can."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def grants(self, needed: Role) -> bool:
        return self.rank >= needed.rank

    def cumulative(self) -> tuple[Role, ...]:
        """This role and every role it includes, lowest first."""
        return tuple(role for role in Role if self.grants(role))


@dataclass(frozen=True)
class Scope:
    """The stores someone may see: every store, or a resolved set of store uids."""

    entries: tuple[str, ...]
    stores: frozenset[str]
    everything: bool = False

    @classmethod
    def parse(cls, entries: Sequence[str], estate: Estate | None, strict: bool = True) -> Scope:
        """Resolve `*`, store uids and `region:<uid>` against the estate.

        Unknown names fail when `strict` (granting a scope); otherwise (a stored scope
        whose store left the estate) they cover nothing.
        """
        if not entries and strict:
            raise InvalidScopeError(
                "a scope needs at least one entry: `*`, a store or region:<uid>"
            )
        if EVERY_STORE in entries:
            return cls(tuple(entries), frozenset(), everything=True)
        stores: set[str] = set()
        for entry in entries:
            try:
                stores |= _stores_of(entry, estate)
            except InvalidScopeError:
                if strict:
                    raise
        return cls(tuple(entries), frozenset(stores))

    def covers(self, store: str | None) -> bool:
        """Whether one store is in scope; estate-wide things (no store) only for `*`."""
        if self.everything:
            return True
        return store is not None and store in self.stores

    def covers_all(self, stores: Iterable[str]) -> bool:
        """Whether every store of an object is in scope (an object of no store: only `*`)."""
        if self.everything:
            return True
        listed = set(stores)
        return bool(listed) and listed <= self.stores

    def within(self, other: Scope) -> bool:
        """Whether this scope is no wider than `other` (what an admin may grant)."""
        if other.everything:
            return True
        return not self.everything and self.stores <= other.stores


def _stores_of(entry: str, estate: Estate | None) -> set[str]:
    if entry.startswith(REGION):
        name = entry[len(REGION) :]
        if estate is None:
            raise InvalidScopeError(f"{entry!r}: regions need an estate, and none is loaded")
        for region in estate.regions:
            if region.uid == name:
                return {store.uid for store in region.stores}
        known = ", ".join(region.uid for region in estate.regions)
        raise InvalidScopeError(f"{entry!r}: no such region (known: {known})")
    if estate is not None and not any(store.uid == entry for store in estate.stores):
        raise InvalidScopeError(f"{entry!r}: no such store in the estate")
    if not entry:
        raise InvalidScopeError("an empty scope entry")
    return {entry}


@dataclass(frozen=True)
class User:
    """A console account as the API shows it (never its password hash)."""

    username: str
    role: Role
    scopes: tuple[str, ...]
    disabled: bool = False


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a person by session, or a machine by API token."""

    name: str
    role: Role
    scope: Scope
    via: Literal["session", "token"]
    csrf_token: str | None = None
    """The session's CSRF token (sessions only)."""
    session_hash: str | None = None

    def can(self, role: Role) -> bool:
        return self.role.grants(role)


@dataclass(frozen=True)
class SignIn:
    """A new session: its id (for the cookie, shown once), its CSRF token, its user."""

    session_id: str
    csrf_token: str
    user: User


@dataclass(frozen=True)
class IssuedToken:
    """An API token as created: the secret is shown once and only its hash is kept."""

    uid: str
    name: str
    role: Role
    scopes: tuple[str, ...]
    token: str


class OidcRefusal(StrEnum):
    """Why an OIDC sign-in was refused; the sign-in page explains each one."""

    STATE = "state"
    """The callback matches no sign-in this browser started (wrong, reused or expired state)."""
    DENIED = "denied"
    """The provider said no (the person cancelled, or the provider refused)."""
    PROVIDER = "provider"
    """The provider could not be reached or answered something unusable."""
    UNVERIFIED = "unverified"
    """The ID token failed a check (signature, issuer, audience, expiry, nonce)."""
    NO_ROLE = "no_role"
    """The person's claims match no role rule."""
    NO_SCOPE = "no_scope"
    """A rule matched, but it names no store or region of the estate."""
    ACCOUNT = "account"
    """The user name is not acceptable, or belongs to a local account or another subject."""
    DISABLED = "disabled"
    """The account exists and is disabled."""


class OidcRefusedError(AuthError):
    """An OIDC sign-in that must not go ahead; `reason` says which check failed."""

    def __init__(self, reason: OidcRefusal, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider vouched for: its issuer and subject, a user name, and every claim."""

    issuer: str
    subject: str
    username: str
    claims: dict[str, object]
