"""The actions' idempotency ledger in the operational database.

Same contract as `vigil.respond.ledger.MemoryLedger`, kept across restarts and
processes: a claim is committed before the action acts and the result after,
so a step interrupted in between is known to be "maybe done" when the engine
resumes, and an action that must not repeat is not run again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from vigil.respond.actions import load_result
from vigil.respond.ledger import LedgerEntry
from vigil.respond.playbooks.errors import RunError
from vigil.respond.types import ActionResult
from vigil.store.database import Database
from vigil.store.models import ResponseLedgerEntry


def _now() -> datetime:
    return datetime.now(UTC)


class DatabaseLedger:
    """A `vigil.respond.ledger.Ledger` in the `response_ledger` table."""

    def __init__(self, database: Database, clock: Callable[[], datetime] = _now) -> None:
        self.database = database
        self.clock = clock

    def claim(self, key: str, action: str, params_json: str) -> LedgerEntry | None:
        try:
            with self.database.session() as session:
                session.add(
                    ResponseLedgerEntry(
                        key=key, action=action, params_json=params_json, claimed_at=self.clock()
                    )
                )
        except IntegrityError:
            found = self.get(key)
            if found is None:
                raise RunError(f"ledger key {key!r} could be neither claimed nor read") from None
            return found
        return None

    def reclaim(self, key: str) -> None:
        with self.database.session() as session:
            row = session.get(ResponseLedgerEntry, key)
            if row is None:
                raise RunError(f"ledger key {key!r} was never claimed")
            row.result = None
            row.finished_at = None
            row.claimed_at = self.clock()

    def finish(self, result: ActionResult) -> None:
        with self.database.session() as session:
            row = session.get(ResponseLedgerEntry, result.key)
            if row is None:
                raise RunError(f"ledger key {result.key!r} was never claimed")
            row.result = result.model_dump_json()
            row.finished_at = self.clock()

    def get(self, key: str) -> LedgerEntry | None:
        with self.database.session() as session:
            row = session.get(ResponseLedgerEntry, key)
            if row is None:
                return None
            result = None if row.result is None else load_result(row.result)
            return LedgerEntry(row.key, row.action, row.params_json, result)
