"""The in-process Bus: a JetStream-like log in memory, for one process and for tests."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.bus.types import BusError, Message, check_subject, subject_matches


@dataclass
class _Stored:
    sequence: int
    subject: str
    data: bytes
    headers: dict[str, str]


@dataclass
class _Consumer:
    pattern: str
    ack_wait: float
    next_sequence: int = 1
    pending: dict[int, tuple[float, int]] = field(default_factory=dict)
    """sequence -> (redeliver at, deliveries so far)"""
    acked: set[int] = field(default_factory=set)


class MemoryBus:
    """All messages kept in memory; durable consumers keep their place while the bus lives."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._log: list[_Stored] = []
        self._consumers: dict[str, _Consumer] = {}
        self._arrived = asyncio.Condition()
        self._clock = clock
        self._closed = False

    async def publish(
        self, subject: str, data: bytes, headers: dict[str, str] | None = None
    ) -> int:
        if self._closed:
            raise BusError("the bus is closed")
        check_subject(subject, wildcards=False)
        async with self._arrived:
            stored = _Stored(len(self._log) + 1, subject, bytes(data), dict(headers or {}))
            self._log.append(stored)
            self._arrived.notify_all()
        return stored.sequence

    async def subscribe(
        self, subject: str, durable: str, ack_wait: float = 30.0
    ) -> MemorySubscription:
        check_subject(subject, wildcards=True)
        consumer = self._consumers.get(durable)
        if consumer is None:
            consumer = _Consumer(subject, ack_wait)
            self._consumers[durable] = consumer
        elif consumer.pattern != subject:
            raise BusError(
                f"durable {durable!r} already follows {consumer.pattern!r}, not {subject!r}"
            )
        return MemorySubscription(self, consumer)

    async def close(self) -> None:
        self._closed = True

    def _ready(self, consumer: _Consumer, limit: int) -> list[Message]:
        now = self._clock()
        out: list[Message] = []
        for sequence, (due, deliveries) in sorted(consumer.pending.items()):
            if len(out) >= limit:
                return out
            if due <= now:
                out.append(self._deliver(consumer, self._log[sequence - 1], deliveries + 1))
        while len(out) < limit and consumer.next_sequence <= len(self._log):
            stored = self._log[consumer.next_sequence - 1]
            consumer.next_sequence += 1
            if subject_matches(consumer.pattern, stored.subject):
                out.append(self._deliver(consumer, stored, 1))
        return out

    def _deliver(self, consumer: _Consumer, stored: _Stored, delivery: int) -> Message:
        consumer.pending[stored.sequence] = (self._clock() + consumer.ack_wait, delivery)

        async def ack() -> None:
            consumer.pending.pop(stored.sequence, None)
            consumer.acked.add(stored.sequence)

        return Message(
            stored.subject, stored.data, dict(stored.headers), stored.sequence, delivery, ack
        )


class MemorySubscription:
    def __init__(self, bus: MemoryBus, consumer: _Consumer) -> None:
        self._bus = bus
        self._consumer = consumer

    async def fetch(self, batch: int = 100, timeout: float = 1.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while True:
            messages = self._bus._ready(self._consumer, batch)
            remaining = deadline - time.monotonic()
            if messages or remaining <= 0:
                return messages
            async with self._bus._arrived:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._bus._arrived.wait(), timeout=min(remaining, 0.05))

    async def close(self) -> None:
        return None
