"""The Bus interface, shared by the in-process and the NATS JetStream implementations.

Semantics follow JetStream: subjects are dot-separated tokens (`events.031.pos`),
`*` matches one token and `>` the rest; a durable subscription remembers what its
consumer acknowledged, so a restarted consumer resumes; a message not acknowledged
within `ack_wait` seconds is delivered again (at-least-once).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol


class BusError(Exception):
    """Base class for every error of `vigil.bus`."""


@dataclass
class Message:
    """One delivered message. Call `ack()` once it has been handled."""

    subject: str
    data: bytes
    headers: dict[str, str] = field(default_factory=dict)
    sequence: int = 0
    delivery: int = 1
    _ack: Callable[[], Awaitable[None]] | None = field(default=None, repr=False)

    async def ack(self) -> None:
        if self._ack is not None:
            await self._ack()


class Subscription(Protocol):
    async def fetch(self, batch: int = 100, timeout: float = 1.0) -> list[Message]:
        """Up to `batch` messages, waiting at most `timeout` seconds for the first."""
        ...

    async def close(self) -> None: ...


class Bus(Protocol):
    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> int:
        """Store a message; returns its sequence number in the stream."""
        ...

    async def subscribe(self, subject: str, durable: str, ack_wait: float = 30.0) -> Subscription:
        """A durable, acknowledged subscription; the same name resumes where it stopped."""
        ...

    async def close(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, `>` is one or more trailing tokens."""
    want = pattern.split(".")
    have = subject.split(".")
    for index, part in enumerate(want):
        if part == ">":
            return len(have) > index
        if index >= len(have) or part not in {"*", have[index]}:
            return False
    return len(want) == len(have)


def check_subject(subject: str, *, wildcards: bool) -> None:
    parts = subject.split(".")
    if not subject or any(not part or " " in part for part in parts):
        raise BusError(f"invalid subject {subject!r}")
    if not wildcards and any(part in {"*", ">"} for part in parts):
        raise BusError(f"wildcards are not allowed when publishing: {subject!r}")
    if wildcards and ">" in parts[:-1]:
        raise BusError(f"'>' must be the last token: {subject!r}")
