"""The live loop after detection: fold each batch's alerts into incidents, then respond.

`LiveResponse` is what `LiveDetection` calls with the alerts it has just stored:
the correlator folds them (the changes are stored), and every incident they opened
or grew goes to the playbooks as the system. Each store's response mode decides
what happens: nothing in detect-only, approval requests in assisted mode, the
actions policy allows in autonomous mode. Starting is idempotent, so an incident
that grows does not start its playbooks twice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from vigil.correlate import service
from vigil.correlate.fold import Correlator
from vigil.correlate.types import IncidentStatus
from vigil.detect.types import Alert
from vigil.respond.errors import RespondError
from vigil.respond.playbooks.engine import Responder
from vigil.store.database import Database

logger = logging.getLogger(__name__)

QUIET = frozenset({IncidentStatus.MERGED, IncidentStatus.RESOLVED, IncidentStatus.CLOSED})
"""Incidents no playbook starts for."""


@dataclass
class LiveResponse:
    """Alerts in, incidents stored and playbooks started; counts what it did."""

    database: Database
    correlator: Correlator
    responder: Responder | None = None
    incidents: set[str] = field(default_factory=set)
    runs: int = 0
    failures: int = 0

    def __call__(self, alerts: Sequence[Alert]) -> None:
        changes = service.fold(self.database, self.correlator, alerts)
        for incident in changes.incidents:
            if incident.status in QUIET:
                continue
            self.incidents.add(incident.uid)
            if self.responder is None:
                continue
            try:
                self.runs += len(self.responder.respond(incident.uid))
            except RespondError as error:  # one incident's playbook never stops the stream
                self.failures += 1
                logger.warning("response to %s failed: %s", incident.uid, error)
