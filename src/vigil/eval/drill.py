"""Response drill: an evaluation's alerts through correlation and the shipped playbooks.

The alerts are replayed in event-time order, a minute at a time, into the same
live loop `vigil ingest serve` runs (`LiveResponse`), with every store in
autonomous mode, the recording backend standing in for firewalls, directories and
mail, and the clock at the newest alert's event time. So the response times are
event times: how long after the first malicious event an incident was detected
and contained, had the playbooks run as soon as the alerts arrived. Steps the
approval policy keeps for a person even in autonomous mode stay pending: those
incidents are counted as waiting, not contained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.correlate import service
from vigil.correlate.fold import Correlator
from vigil.detect.types import Alert
from vigil.estate import Estate
from vigil.respond.approvals import ApprovalStatus
from vigil.respond.build import build_responder
from vigil.respond.live import LiveResponse
from vigil.respond.metrics import MetricsReport, report
from vigil.respond.modes import ModeConfig, ResponseMode
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import ResponseSettings
from vigil.respond.store import ResponseStore
from vigil.store.database import Database, sqlite_url

STEP = timedelta(minutes=1)
"""Alerts handed to the loop together: a minute of event time."""
CHANNELS = ("soc", "lp", "ops")
"""Notification channels the shipped playbooks name (security, loss prevention, IT)."""


@dataclass(frozen=True)
class Drill:
    """What the playbooks did with an evaluation's alerts."""

    incidents: int
    runs: int
    actions: int
    """Adapter calls the recording backend saw (blocks, quarantines, messages, ...)."""
    waiting: int
    """Approval requests still pending at the end."""
    failures: int
    metrics: MetricsReport


class _Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def drill(alerts: Sequence[Alert], estate: Estate, folder: Path) -> Drill:
    """Run the alerts through correlation and the playbooks; `folder` gets the database."""
    ordered = sorted(alerts, key=lambda alert: (alert.time, alert.uid))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vigil.db").unlink(missing_ok=True)
    database = Database.open(sqlite_url(folder))
    try:
        clock = _Clock(ordered[0].time if ordered else datetime.now().astimezone())
        settings = ResponseSettings(modes=ModeConfig(default=ResponseMode.AUTONOMOUS))
        backend = RecordingBackend()
        responder = build_responder(
            database,
            settings,
            folder,
            estate,
            backend.backends(channels=CHANNELS),
            clock=clock,
            sleep=lambda _: None,
        )
        loop = LiveResponse(database, Correlator(None, estate), responder)
        start = 0
        while start < len(ordered):
            end = start
            until = ordered[start].time + STEP
            while end < len(ordered) and ordered[end].time < until:
                end += 1
            clock.now = ordered[end - 1].time
            loop(ordered[start:end])
            start = end
        incidents = service.list_incidents(database, limit=1_000_000)
        waiting = ResponseStore(database).approvals(statuses=[ApprovalStatus.PENDING])
        return Drill(
            incidents=len(incidents),
            runs=loop.runs,
            actions=len(backend.calls),
            waiting=len(waiting),
            failures=loop.failures,
            metrics=report(incidents),
        )
    finally:
        database.close()
