"""The small interfaces between actions and the systems they change.

Actions never talk to nftables, SCIM, SMTP, webhooks or MQTT themselves: they call
one of these protocols, found in `Backends`. The real adapters live in
`vigil.respond.adapters`; `vigil.respond.recording.RecordingBackends` implements
every protocol in memory for tests and dry runs.

Every call takes `limit`, the time limit of the attempt in seconds (from the
retry policy), and raises a `vigil.respond.errors.AdapterError` subclass when it
fails, so the retry loop knows whether to try again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Protocol, TypeVar

from vigil.respond.errors import ConfigError

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network
T = TypeVar("T")


class BlockList(StrEnum):
    """Which blocklist of the gateway an address goes to; each is its own nft set."""

    ADDRESS = "address"
    RANGE = "range"
    GEO = "geo"


@dataclass(frozen=True)
class RateLimit:
    """Packets a second allowed per source address, with a burst on top."""

    packets_per_second: int
    burst: int


@dataclass(frozen=True)
class Added:
    """Which elements a call added, and which were there already (left as they were)."""

    added: tuple[IPNetwork, ...]
    present: tuple[IPNetwork, ...] = ()


class Firewall(Protocol):
    """A store gateway's packet filter (nftables in production)."""

    def block(
        self, networks: Sequence[IPNetwork], blocklist: BlockList, timeout: timedelta, limit: float
    ) -> Added:
        """Drop traffic from and to `networks` until `timeout` passes."""
        ...

    def unblock(self, networks: Sequence[IPNetwork], blocklist: BlockList, limit: float) -> None:
        """Remove `networks` from the blocklist; absent ones are no error."""
        ...

    def quarantine(
        self,
        device: IPAddress,
        management: Sequence[IPAddress],
        timeout: timedelta,
        limit: float,
    ) -> bool:
        """Cut `device` off except to and from `management`; False if it already was."""
        ...

    def release(self, device: IPAddress, management: Sequence[IPAddress], limit: float) -> None:
        """Undo `quarantine`; a device not in quarantine is no error."""
        ...

    def rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, timeout: timedelta, limit: float
    ) -> Added:
        """Drop each source's packets above `rate` until `timeout` passes."""
        ...

    def remove_rate_limit(
        self, networks: Sequence[IPNetwork], rate: RateLimit, limit: float
    ) -> None:
        """Undo `rate_limit`; absent networks are no error."""
        ...


@dataclass(frozen=True)
class UserRef:
    """A directory user, by SCIM id or by user name (resolved with a filter)."""

    user_id: str | None = None
    user_name: str | None = None

    def __str__(self) -> str:
        return self.user_name or self.user_id or "?"


@dataclass(frozen=True)
class DirectoryUser:
    user_id: str
    user_name: str
    active: bool


class Directory(Protocol):
    """An identity provider or application that takes SCIM 2.0 user changes."""

    def find(self, user: UserRef, limit: float) -> DirectoryUser: ...

    def set_active(self, user_id: str, active: bool, limit: float) -> DirectoryUser: ...


class PasswordResetter(Protocol):
    """Makes a user choose a new password at the next sign-in (no SCIM standard for it)."""

    def force_reset(self, user: UserRef, limit: float) -> str:
        """Returns what the identity provider answered, in words."""
        ...


@dataclass(frozen=True)
class Fact:
    name: str
    value: str


@dataclass(frozen=True)
class Notice:
    """A message for people, formatted per channel (JSON, Slack, Teams, email)."""

    title: str
    text: str
    severity: str
    incident_id: str | None = None
    link: str | None = None
    facts: tuple[Fact, ...] = ()


class Notifier(Protocol):
    """One notification channel: a webhook or a list of email recipients."""

    def send(self, notice: Notice, key: str, limit: float) -> str:
        """Deliver once; `key` lets receivers that support it drop duplicates."""
        ...


@dataclass(frozen=True)
class TicketRequest:
    title: str
    description: str
    priority: str
    incident_id: str | None = None
    store: str | None = None
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketReceipt:
    ticket_id: str | None
    detail: str


class Ticketing(Protocol):
    """A ticketing system's intake endpoint."""

    def open(self, ticket: TicketRequest, key: str, limit: float) -> TicketReceipt: ...


class Publisher(Protocol):
    """Messages to store edges and IoT gateways (MQTT, QoS 1)."""

    def publish(self, topic: str, payload: bytes, limit: float) -> None:
        """Returns once the broker acknowledged the message."""
        ...


@dataclass
class Backends:
    """The adapters an action may use; a missing one is a `ConfigError` when asked for."""

    firewalls: Mapping[str, Firewall] = field(default_factory=dict)
    directory: Directory | None = None
    password_resetter: PasswordResetter | None = None
    notifiers: Mapping[str, Notifier] = field(default_factory=dict)
    ticketing: Ticketing | None = None
    publisher: Publisher | None = None

    def firewall(self, gateway: str) -> Firewall:
        return _pick(self.firewalls, gateway, "gateway")

    def notifier(self, channel: str) -> Notifier:
        return _pick(self.notifiers, channel, "notification channel")

    def need_directory(self) -> Directory:
        return _need(self.directory, "SCIM directory")

    def need_password_resetter(self) -> PasswordResetter:
        return _need(self.password_resetter, "password reset adapter")

    def need_ticketing(self) -> Ticketing:
        return _need(self.ticketing, "ticketing endpoint")

    def need_publisher(self) -> Publisher:
        return _need(self.publisher, "MQTT publisher")


def _pick(found: Mapping[str, T], name: str, what: str) -> T:
    try:
        return found[name]
    except KeyError:
        known = ", ".join(sorted(found)) or "none"
        raise ConfigError(f"no {what} {name!r} is configured; configured: {known}") from None


def _need(backend: T | None, what: str) -> T:
    if backend is None:
        raise ConfigError(f"no {what} is configured")
    return backend
