"""What the engine and its step runner share: storage, adapters, policy, clock, audit.

Every piece of infrastructure is injected (the clock, the sleep of the back-off,
the random source of its jitter), so tests drive a run through approvals,
escalation and expiry without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from vigil.correlate import service
from vigil.correlate.types import Incident, IncidentStatus
from vigil.estate.types import Estate
from vigil.respond.actions import ExecutionContext, actions
from vigil.respond.approvals import ApprovalPolicy
from vigil.respond.backends import Backends
from vigil.respond.dbledger import DatabaseLedger
from vigil.respond.errors import RespondError
from vigil.respond.geo import CountryRanges
from vigil.respond.ledger import execution_key
from vigil.respond.modes import ModeConfig
from vigil.respond.playbooks.facts import IncidentFacts, Situation
from vigil.respond.retry import RetryPolicy
from vigil.respond.store import ResponseStore
from vigil.respond.types import ActionResult
from vigil.store.database import Database

logger = logging.getLogger(__name__)

SYSTEM = "vigil"
"""The actor of what the engine does by itself (automatic runs, expiries)."""
ACKNOWLEDGEABLE = frozenset({IncidentStatus.NEW, IncidentStatus.REOPENED})
CONTAINABLE = frozenset({IncidentStatus.NEW, IncidentStatus.ACKNOWLEDGED, IncidentStatus.REOPENED})


def utc_now() -> datetime:
    return datetime.now(UTC)


class IncidentSource(Protocol):
    """Where the engine reads incidents and records acknowledgement and containment."""

    def get(self, uid: str) -> Incident: ...

    def set_status(self, uid: str, status: IncidentStatus, actor: str, at: datetime) -> None: ...


@dataclass(frozen=True)
class StoredIncidents:
    """Incidents in the operational database, through the correlation service."""

    database: Database

    def get(self, uid: str) -> Incident:
        return service.get(self.database, uid)

    def set_status(self, uid: str, status: IncidentStatus, actor: str, at: datetime) -> None:
        service.set_status(self.database, uid, status, actor, at)


@dataclass
class Runtime:
    database: Database
    backends: Backends
    policy: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    modes: ModeConfig = field(default_factory=ModeConfig)
    estate: Estate | None = None
    clock: Callable[[], datetime] = utc_now
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    countries: CountryRanges | None = None
    incidents: IncidentSource | None = None

    def __post_init__(self) -> None:
        self.store = ResponseStore(self.database)
        self.ledger = DatabaseLedger(self.database, self.clock)
        self.source: IncidentSource = self.incidents or StoredIncidents(self.database)

    def situation(self, incident: Incident) -> Situation:
        return Situation(
            IncidentFacts.of(incident),
            self.clock(),
            self.estate,
            frozenset(self.backends.firewalls),
            self.countries,
        )

    def context(
        self, key: str, incident_uid: str, retry: RetryPolicy | None = None
    ) -> ExecutionContext:
        return ExecutionContext(
            backends=self.backends,
            key=key,
            incident_id=incident_uid,
            retry=retry or self.retry,
            ledger=self.ledger,
            sleep=self.sleep,
            rng=self.rng,
            now=self.clock,
            countries=self.countries,
        )

    def audit(self, actor: str, action: str, target: str, detail: Mapping[str, object]) -> None:
        self.database.audit(actor, action, target, {"at": self.clock().isoformat(), **detail})

    def acknowledge(self, incident_uid: str, actor: str) -> None:
        """A person touched the incident: acknowledged, if nobody had yet."""
        if actor == SYSTEM:
            return
        if self.source.get(incident_uid).status in ACKNOWLEDGEABLE:
            self.source.set_status(incident_uid, IncidentStatus.ACKNOWLEDGED, actor, self.clock())

    def contain(self, incident_uid: str, actor: str) -> None:
        if self.source.get(incident_uid).status in CONTAINABLE:
            self.source.set_status(incident_uid, IncidentStatus.CONTAINED, actor, self.clock())

    def announce(
        self, channel: str | None, key: str, incident_uid: str, title: str, text: str
    ) -> ActionResult | None:
        """Tell people (approvers, escalation) through a channel, once per key; never raises."""
        if channel is None:
            return None
        params = {"channel": channel, "title": title[:200], "text": text[:4000], "severity": "high"}
        context = self.context(execution_key(key, "announce"), incident_uid)
        try:
            result = actions.get("notify")().run(params, context)
        except RespondError as error:
            logger.warning("could not announce %s on %s: %s", key, channel, error)
            self.audit(
                SYSTEM, "respond.announce.failed", key, {"channel": channel, "error": str(error)}
            )
            return None
        if not result.ok:
            self.audit(
                SYSTEM, "respond.announce.failed", key, {"channel": channel, "error": result.detail}
            )
        return result
