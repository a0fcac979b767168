"""An in-memory backend for every protocol: tests and dry runs use it instead of real adapters.

It keeps the state a real gateway or directory would (blocked networks with
their expiry, quarantined devices, active users), records every call in order,
and can be told to fail the next calls of one operation:

    backend = RecordingBackend(users=[DirectoryUser("u1", "alice", True)])
    backend.fail("set_active", TransientError("503"), TransientError("503"))
    context = ExecutionContext(backends=backend.backends(), key="k1", sleep=FakeSleep())
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from vigil.respond.backends import (
    Added,
    Backends,
    BlockList,
    DirectoryUser,
    IPAddress,
    IPNetwork,
    Notice,
    RateLimit,
    TicketReceipt,
    TicketRequest,
    UserRef,
)
from vigil.respond.errors import AdapterError, PermanentError


@dataclass(frozen=True)
class RecordedCall:
    """One call to the recording backend: which operation, on what."""

    operation: str
    target: str
    detail: str = ""


@dataclass
class FakeSleep:
    """Records back-off sleeps instead of waiting."""

    slept: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


class RecordingBackend:
    """Firewall, directory, password resetter, notifier, ticketing and publisher in one."""

    def __init__(self, users: Iterable[DirectoryUser] = ()) -> None:
        self.calls: list[RecordedCall] = []
        self.blocked: dict[tuple[BlockList, IPNetwork], timedelta] = {}
        self.quarantined: dict[IPAddress, tuple[IPAddress, ...]] = {}
        self.limited: dict[tuple[RateLimit, IPNetwork], timedelta] = {}
        self.users = {user.user_id: user for user in users}
        self.sent: list[tuple[str, Notice]] = []
        self.tickets: list[TicketRequest] = []
        self.published: list[tuple[str, bytes]] = []
        self._failures: dict[str, deque[AdapterError]] = defaultdict(deque)

    def backends(
        self, gateways: Sequence[str] = ("default",), channels: Sequence[str] = ("ops",)
    ) -> Backends:
        return Backends(
            firewalls=dict.fromkeys(gateways, self),
            directory=self,
            password_resetter=self,
            notifiers={name: _Channel(self, name) for name in channels},
            ticketing=self,
            publisher=self,
        )

    def fail(self, operation: str, *errors: AdapterError) -> None:
        """Raise `errors`, one per call, from the next calls of `operation`."""
        self._failures[operation].extend(errors)

    def record(self, operation: str, target: object, detail: str = "") -> None:
        self.calls.append(RecordedCall(operation, str(target), detail))
        if self._failures[operation]:
            raise self._failures[operation].popleft()

    # Firewall

    def block(
        self, networks: Sequence[IPNetwork], blocklist: BlockList, timeout: timedelta, limit: float
    ) -> Added:
        self.record("block", ",".join(map(str, networks)), f"{blocklist} {timeout}")
        fresh = tuple(n for n in networks if (blocklist, n) not in self.blocked)
        for network in fresh:
            self.blocked[(blocklist, network)] = timeout
        return Added(fresh, tuple(n for n in networks if n not in fresh))

    def unblock(self, networks: Sequence[IPNetwork], blocklist: BlockList, limit: float) -> None:
        self.record("unblock", ",".join(map(str, networks)), str(blocklist))
        for network in networks:
            self.blocked.pop((blocklist, network), None)

    def quarantine(
        self, device: IPAddress, management: Sequence[IPAddress], timeout: timedelta, limit: float
    ) -> bool:
        self.record("quarantine", device, ",".join(map(str, management)))
        fresh = device not in self.quarantined
        self.quarantined[device] = tuple(management)
        return fresh

    def release(self, device: IPAddress, management: Sequence[IPAddress], limit: float) -> None:
        self.record("release", device)
        self.quarantined.pop(device, None)

    def rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, timeout: timedelta, limit: float
    ) -> Added:
        self.record("rate_limit", ",".join(map(str, networks)), f"{rate.packets_per_second}/s")
        fresh = tuple(n for n in networks if (rate, n) not in self.limited)
        for network in fresh:
            self.limited[(rate, network)] = timeout
        return Added(fresh, tuple(n for n in networks if n not in fresh))

    def remove_rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, limit: float
    ) -> None:
        self.record("remove_rate_limit", ",".join(map(str, networks)))
        for network in networks:
            self.limited.pop((rate, network), None)

    # Directory and password resets

    def find(self, user: UserRef, limit: float) -> DirectoryUser:
        self.record("find", user)
        for found in self.users.values():
            if user.user_id == found.user_id or user.user_name == found.user_name:
                return found
        raise PermanentError(f"no user {user}")

    def set_active(self, user_id: str, active: bool, limit: float) -> DirectoryUser:
        self.record("set_active", user_id, f"active={active}")
        if user_id not in self.users:
            raise PermanentError(f"no user {user_id}")
        found = self.users[user_id]
        self.users[user_id] = DirectoryUser(found.user_id, found.user_name, active)
        return self.users[user_id]

    def force_reset(self, user: UserRef, limit: float) -> str:
        self.record("force_reset", user)
        return "recorded"

    # Ticketing and publishing

    def open(self, ticket: TicketRequest, key: str, limit: float) -> TicketReceipt:
        self.record("open_ticket", ticket.title, key)
        self.tickets.append(ticket)
        return TicketReceipt(f"REC-{len(self.tickets)}", "recorded")

    def publish(self, topic: str, payload: bytes, limit: float) -> None:
        self.record("publish", topic, payload.decode("utf-8", "replace"))
        self.published.append((topic, payload))


@dataclass
class _Channel:
    """One named notification channel of the recording backend."""

    backend: RecordingBackend
    name: str

    def send(self, notice: Notice, key: str, limit: float) -> str:
        self.backend.record("send", self.name, key)
        self.backend.sent.append((self.name, notice))
        return "recorded"
