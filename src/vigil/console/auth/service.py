"""Accounts and sessions: the first admin, users, sign-in and sign-out, session lookup.

A session id is 256 random bits, set as an HttpOnly cookie and stored only as
its SHA-256; every sign-in makes a new one (and ends the one the browser came
with), so a session id planted before sign-in is worthless after it.
Passwords are never logged, stored or returned: only argon2 hashes are kept.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from vigil.console.auth.oidc_config import Grant
from vigil.console.auth.passwords import Passwords, generate_password
from vigil.console.auth.throttle import LoginThrottle
from vigil.console.auth.types import (
    MIN_PASSWORD,
    USERNAME,
    InvalidAccountError,
    InvalidScopeError,
    OidcIdentity,
    OidcRefusal,
    OidcRefusedError,
    Principal,
    Role,
    Scope,
    SignIn,
    User,
)
from vigil.console.errors import ConflictError, NotSignedInError, TooManyAttemptsError
from vigil.correlate.codec import utc
from vigil.estate import Estate
from vigil.store.database import Database
from vigil.store.models import AuditHead, ConsoleSession, ConsoleUser

logger = logging.getLogger(__name__)

BAD_CREDENTIALS = "wrong user name or password"
OIDC_LINK = "oidc:"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def oidc_link(issuer: str, subject: str) -> str:
    """What an OIDC account keeps instead of a password hash: a digest of issuer and subject.

    It is never a valid argon2 hash, so no password signs in to such an account, and
    it ties the user name to one subject of one provider.
    """
    return OIDC_LINK + digest(f"{issuer}\n{subject}")


def _user(row: ConsoleUser) -> User:
    return User(row.username, Role(row.role), tuple(row.scopes), row.disabled)


class Accounts:
    """Users and sessions in the operational database."""

    def __init__(
        self,
        database: Database,
        estate: Estate | None,
        clock: Callable[[], datetime],
        session_lifetime: timedelta,
        throttle: LoginThrottle,
        passwords: Passwords,
    ) -> None:
        self.database = database
        self.estate = estate
        self.clock = clock
        self.session_lifetime = session_lifetime
        self.throttle = throttle
        self.passwords = passwords

    # -- users -------------------------------------------------------------------------

    def setup_needed(self) -> bool:
        with self.database.session() as session:
            return not session.scalar(select(func.count()).select_from(ConsoleUser))

    def users(self) -> list[User]:
        with self.database.session() as session:
            rows = session.scalars(select(ConsoleUser).order_by(ConsoleUser.username))
            return [_user(row) for row in rows]

    def create_user(
        self,
        username: str,
        password: str | None,
        role: Role,
        scopes: Sequence[str],
        by: str,
        first: bool = False,
    ) -> tuple[User, str]:
        """Add an account; returns it and its password (generated when none is given).

        With `first`, only while no account exists (the first-run admin); otherwise a
        taken name is a conflict.
        """
        if not USERNAME.match(username):
            raise InvalidAccountError(
                "a user name is 1-64 letters, digits and . _ @ -, starting with a letter or digit"
            )
        secret = password if password is not None else generate_password()
        if len(secret) < MIN_PASSWORD:
            raise InvalidAccountError(f"a password needs at least {MIN_PASSWORD} characters")
        Scope.parse(scopes, self.estate)
        hashed = self.passwords.hash(secret)
        with self.database.session() as session:
            if first:  # take the write lock first, so two first-run forms cannot both win
                session.execute(update(AuditHead).where(AuditHead.id == 1).values(id=AuditHead.id))
            if first and session.scalar(select(func.count()).select_from(ConsoleUser)):
                raise ConflictError("the console is set up already: sign in as its admin")
            if session.get(ConsoleUser, username) is not None:
                raise ConflictError(f"user {username!r} exists already")
            session.add(
                ConsoleUser(
                    username=username,
                    password_hash=hashed,
                    role=role.value,
                    scopes=list(scopes),
                    created_at=self.clock(),
                    created_by=by,
                    disabled=False,
                )
            )
        detail: dict[str, object] = {"role": role.value, "scopes": list(scopes)}
        self.database.audit(by, "console.user.create", username, detail)
        return User(username, role, tuple(scopes)), secret

    # -- sessions ----------------------------------------------------------------------

    def sign_in(
        self, username: str, password: str, source: str, previous: str | None = None
    ) -> SignIn:
        """Check the password (throttled per user and address) and open a new session."""
        wait = self.throttle.wait(username, source)
        if wait is not None:
            seconds = max(1, int(wait.total_seconds()))
            raise TooManyAttemptsError(f"too many failed sign-ins; try again in {seconds} s")
        with self.database.session() as session:
            row = session.get(ConsoleUser, username)
            stored = None if row is None or row.disabled else row.password_hash
        if not self.passwords.verify(stored, password) or row is None or stored is None:
            self.throttle.failed(username, source)
            self.database.audit(username, "console.login.failed", source, {})
            raise NotSignedInError(BAD_CREDENTIALS)
        self.throttle.succeeded(username, source)
        if self.passwords.needs_rehash(stored):
            with self.database.session() as session:
                found = session.get(ConsoleUser, username)
                if found is not None:
                    found.password_hash = self.passwords.hash(password)
        signed = self._open_session(_user(row), source, previous)
        self.database.audit(username, "console.login", source, {})
        return signed

    def sign_in_oidc(
        self, identity: OidcIdentity, grant: Grant | None, source: str, previous: str | None
    ) -> SignIn:
        """Open a session for someone the OIDC provider vouched for, with the role rules' grant.

        The first sign-in creates the account (no password: it keeps its issuer and
        subject instead); later ones bring its role and scope up to date. A user name
        that belongs to a local account, or to another subject, is refused.
        """
        if grant is None:
            raise OidcRefusedError(OidcRefusal.NO_ROLE, f"no role rule matches {identity.username}")
        scopes = self._known_entries(grant.scopes)
        if not scopes:
            raise OidcRefusedError(OidcRefusal.NO_SCOPE, f"{identity.username}: no known store")
        if not USERNAME.match(identity.username):
            raise OidcRefusedError(OidcRefusal.ACCOUNT, f"{identity.username!r} is no user name")
        link = oidc_link(identity.issuer, identity.subject)
        with self.database.session() as session:
            row = session.get(ConsoleUser, identity.username)
            if row is None:
                row = ConsoleUser(
                    username=identity.username,
                    password_hash=link,
                    role=grant.role.value,
                    scopes=scopes,
                    created_at=self.clock(),
                    created_by=f"oidc {identity.issuer}"[:200],
                    disabled=False,
                )
                session.add(row)
            elif not hmac.compare_digest(row.password_hash, link):
                raise OidcRefusedError(
                    OidcRefusal.ACCOUNT, f"{identity.username} belongs to another account"
                )
            elif row.disabled:
                raise OidcRefusedError(OidcRefusal.DISABLED, f"{identity.username} is disabled")
            else:
                row.role, row.scopes = grant.role.value, scopes
            user = _user(row)
        detail: dict[str, object] = {
            "via": "oidc",
            "issuer": identity.issuer,
            "subject": identity.subject,
            "role": user.role.value,
            "scopes": scopes,
        }
        signed = self._open_session(user, source, previous)
        self.database.audit(user.username, "console.login", source, detail)
        return signed

    def oidc_refused(self, refusal: OidcRefusedError, source: str) -> None:
        """Audit a refused OIDC sign-in (the reason, not the claims)."""
        self.database.audit("oidc", "console.login.refused", source, {"reason": refusal.reason})

    def _known_entries(self, entries: Sequence[str]) -> list[str]:
        """The scope entries that name the whole estate or a store or region of it."""
        known = []
        for entry in dict.fromkeys(entries):
            try:
                Scope.parse([entry], self.estate)
            except InvalidScopeError:
                continue
            known.append(entry)
        return known

    def _open_session(self, user: User, source: str, previous: str | None) -> SignIn:
        """A new session for `user`; the one the browser came with (if any) ends."""
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.database.session() as session:
            if previous:
                session.execute(
                    delete(ConsoleSession).where(ConsoleSession.id_hash == digest(previous))
                )
            session.add(
                ConsoleSession(
                    id_hash=digest(session_id),
                    username=user.username,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + self.session_lifetime,
                    source=source[:200],
                )
            )
        return SignIn(session_id, csrf, user)

    def sign_out(self, principal: Principal) -> None:
        if principal.session_hash is None:
            return
        with self.database.session() as session:
            session.execute(
                delete(ConsoleSession).where(ConsoleSession.id_hash == principal.session_hash)
            )
        self.database.audit(principal.name, "console.logout", None, {})

    def principal(self, session_id: str) -> Principal:
        """The signed-in user of a session cookie; NotSignedInError if none is valid now."""
        key = digest(session_id)
        with self.database.session() as session:
            row = session.get(ConsoleSession, key)
            if row is None or utc(row.expires_at) <= self.clock():
                raise NotSignedInError("not signed in (or the session expired)")
            user = session.get(ConsoleUser, row.username)
            if user is None or user.disabled:
                raise NotSignedInError("the account is disabled")
            return Principal(
                name=user.username,
                role=Role(user.role),
                scope=Scope.parse(user.scopes, self.estate, strict=False),
                via="session",
                csrf_token=row.csrf_token,
                session_hash=key,
            )
