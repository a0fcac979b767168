"""Password hashing with argon2id; the cost is a setting (argon2-cffi's defaults, RFC 9106's
low-memory profile, unless told otherwise: tests use a cheap one).

Unknown users are checked against a dummy hash, so a wrong user name takes as
long as a wrong password and the answer tells an attacker nothing. Hashes made
with an older cost are upgraded at the next sign-in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


@dataclass(frozen=True)
class HashCost:
    """argon2id parameters: passes, memory (KiB) and lanes."""

    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 4


class Passwords:
    """Hash and check passwords at one cost."""

    def __init__(self, cost: HashCost) -> None:
        self._hasher = PasswordHasher(
            time_cost=cost.time_cost, memory_cost=cost.memory_kib, parallelism=cost.parallelism
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` matches `stored` (None: an unknown user, checked against a dummy)."""
        if stored is None and self._dummy is None:
            self._dummy = self._hasher.hash(secrets.token_urlsafe(16))
        try:
            return self._hasher.verify(stored or self._dummy or "", password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether a hash was made at another cost than today's (rehash it at sign-in)."""
        return self._hasher.check_needs_rehash(stored)


def generate_password() -> str:
    """A random password to hand out once (about 120 bits)."""
    return secrets.token_urlsafe(15)
