"""API tokens for machines: `vgt_<uid>_<secret>`, kept as a SHA-256, scoped like users.

A token is shown once, when made; it needs no CSRF token (browsers never send
an Authorization header by themselves).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from vigil.console.auth.service import digest
from vigil.console.auth.types import IssuedToken, Principal, Role, Scope
from vigil.console.errors import ForbiddenError, NotSignedInError
from vigil.correlate.codec import utc
from vigil.estate import Estate
from vigil.store.database import Database
from vigil.store.models import ConsoleToken

PREFIX = "vgt_"


class Tokens:
    """API tokens in the operational database."""

    def __init__(
        self, database: Database, estate: Estate | None, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.estate = estate
        self.clock = clock

    def issue(
        self,
        by: Principal,
        name: str,
        role: Role,
        scopes: Sequence[str],
        lifetime: timedelta | None,
    ) -> IssuedToken:
        """A new token no stronger and no wider than whoever makes it."""
        scope = Scope.parse(scopes, self.estate)
        if not by.role.grants(role):
            raise ForbiddenError(f"{by.name} cannot grant the {role} role")
        if not scope.within(by.scope):
            raise ForbiddenError(f"{by.name} cannot grant a scope wider than their own")
        uid = secrets.token_hex(8)
        secret = f"{PREFIX}{uid}_{secrets.token_urlsafe(32)}"
        now = self.clock()
        with self.database.session() as session:
            session.add(
                ConsoleToken(
                    uid=uid,
                    name=name,
                    token_hash=digest(secret),
                    role=role.value,
                    scopes=list(scopes),
                    created_by=by.name,
                    created_at=now,
                    expires_at=None if lifetime is None else now + lifetime,
                    revoked_at=None,
                )
            )
        detail: dict[str, object] = {"name": name, "role": role.value, "scopes": list(scopes)}
        self.database.audit(by.name, "console.token.create", uid, detail)
        return IssuedToken(uid, name, role, tuple(scopes), secret)

    def principal(self, secret: str) -> Principal:
        """The machine a bearer token stands for; NotSignedInError if it is not valid now."""
        if not secret.startswith(PREFIX):
            raise NotSignedInError("not a Vigil API token")
        with self.database.session() as session:
            row = session.scalar(
                select(ConsoleToken).where(ConsoleToken.token_hash == digest(secret))
            )
            if row is None or row.revoked_at is not None:
                raise NotSignedInError("unknown or revoked API token")
            if row.expires_at is not None and utc(row.expires_at) <= self.clock():
                raise NotSignedInError("the API token expired")
            return Principal(
                name=f"token:{row.name}",
                role=Role(row.role),
                scope=Scope.parse(row.scopes, self.estate, strict=False),
                via="token",
            )
