"""Failed sign-ins per user name and address, in memory: after too many, refuse for a while.

Counting per (user, address) slows guessing one account without letting a
stranger lock a colleague out from elsewhere.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timedelta
from threading import Lock


class LoginThrottle:
    """At most `attempts` failures per key within `window`; success clears the key."""

    def __init__(self, attempts: int, window: timedelta, clock: Callable[[], datetime]) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self._failures: defaultdict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = Lock()

    def wait(self, username: str, source: str) -> timedelta | None:
        """How long this key must wait before trying again; None if it may try now."""
        now = self.clock()
        with self._lock:
            failures = self._failures.get((username.lower(), source))
            if failures is None:
                return None
            while failures and now - failures[0] >= self.window:
                failures.popleft()
            if len(failures) < self.attempts:
                return None
            return failures[0] + self.window - now

    def failed(self, username: str, source: str) -> None:
        with self._lock:
            self._failures[(username.lower(), source)].append(self.clock())

    def succeeded(self, username: str, source: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), source), None)
