"""The idempotency ledger: which execution keys ran, with what, and how it ended.

The playbook engine gives every step execution a key (`execution_key`). Before an
action runs, it claims its key here; when it ends, the result is written back.
That is how a step that must not repeat (an email) never runs twice, even after
a crash between sending and recording: the claim without a result says "maybe
done", and only actions that are safe to repeat run again from there.

`MemoryLedger` serves one process and the tests; the playbook engine stores the
same entries in the operational database.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from vigil.respond.types import ActionResult


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    action: str
    params_json: str
    result: ActionResult | None = None


class Ledger(Protocol):
    def claim(self, key: str, action: str, params_json: str) -> LedgerEntry | None:
        """Claim `key` for a run; returns the earlier entry instead if there is one."""
        ...

    def reclaim(self, key: str) -> None:
        """Mark an earlier, failed entry as running again."""
        ...

    def finish(self, result: ActionResult) -> None: ...


class MemoryLedger:
    """A ledger in memory, safe across threads."""

    def __init__(self) -> None:
        self._entries: dict[str, LedgerEntry] = {}
        self._lock = threading.Lock()

    def claim(self, key: str, action: str, params_json: str) -> LedgerEntry | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self._entries[key] = LedgerEntry(key, action, params_json)
            return found

    def reclaim(self, key: str) -> None:
        with self._lock:
            entry = self._entries[key]
            self._entries[key] = LedgerEntry(key, entry.action, entry.params_json)

    def finish(self, result: ActionResult) -> None:
        with self._lock:
            entry = self._entries[result.key]
            self._entries[result.key] = LedgerEntry(
                entry.key, entry.action, entry.params_json, result
            )

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            return self._entries.get(key)


def execution_key(*parts: str) -> str:
    """A stable key from what identifies one step execution (incident, playbook, step).

    The digest keeps `("a/b", "c")` and `("a", "b/c")` apart.

    >>> execution_key("inc-1", "contain-pos", "block")
    'inc-1/contain-pos/block#4eccd26401c5'
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12]
    return f"{'/'.join(parts)}#{digest}"
