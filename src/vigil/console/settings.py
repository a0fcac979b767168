"""What a console needs to run: its data folder, cookie policy, lifetimes and a clock.

Everything that varies between production and a test is a field here (the
clock, the response adapters, the stream's pace), so tests inject it instead
of patching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from vigil.console.auth.oidc_config import OidcConfig
from vigil.console.auth.passwords import HashCost
from vigil.respond.backends import Backends
from vigil.respond.settings import ResponseSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ConsoleSettings:
    """The console's settings; `data` is the folder `vigil init` made."""

    data: Path
    allow_http: bool = False
    """Leave the session cookie's Secure flag off: only for http://127.0.0.1 development."""
    session_lifetime: timedelta = timedelta(hours=12)
    clock: Callable[[], datetime] = utc_now
    backends: Callable[[ResponseSettings], Backends] | None = None
    """Builds the response adapters; None: from respond.yaml and the environment."""
    password_cost: HashCost = field(default_factory=HashCost)
    """argon2id cost of new password hashes (the default: RFC 9106's low-memory profile)."""
    login_attempts: int = 5
    """Failed sign-ins per user and address within `login_window` before refusing more."""
    login_window: timedelta = timedelta(minutes=15)
    stream_poll: timedelta = timedelta(seconds=2)
    """How often the incident stream looks for changes."""
    stream_heartbeat: timedelta = timedelta(seconds=15)
    stream_lifetime: timedelta = timedelta(minutes=10)
    """A stream ends after this long; browsers reconnect by themselves (EventSource)."""
    health_ttl: timedelta = timedelta(seconds=10)
    """Store health (read from the lake) is reused this long: the estate page stays fast."""
    snapshot_folders: tuple[Path, ...] = ()
    """Folders the video workers keep blurred snapshots in (their `snapshots.folder`), served
    to readers whose scope covers the store; empty: `<data>/snapshots`."""
    oidc: OidcConfig | None = None
    """OIDC sign-in; None: the `oidc` section of `console.yaml` in `data`, if it has one."""

    @property
    def secure_cookies(self) -> bool:
        return not self.allow_http
