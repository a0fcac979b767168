"""Shared pieces of the response tests: a settable clock, stored incidents, a runtime.

The `estate`, `template` and `database` fixtures they use are in conftest.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import StringIO

from ruamel.yaml import YAML

from correlate_helpers import T0, make_alert
from vigil.correlate import service
from vigil.correlate.types import Incident
from vigil.detect.sink import store_alerts
from vigil.detect.types import Alert
from vigil.estate import Estate
from vigil.respond.approvals import ApprovalDefaults, ApprovalPolicy, Approver
from vigil.respond.modes import ModeConfig, ResponseMode
from vigil.respond.playbooks import Playbook
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.loader import parse_playbook
from vigil.respond.playbooks.runtime import Runtime
from vigil.respond.recording import FakeSleep, RecordingBackend
from vigil.store.database import Database

CLOSED = T0
"""Monday 23 Nov 2026, 03:00 in Portland: store 031 is closed."""
TRADING = T0 + timedelta(hours=8)
"""11:00 the same day: store 031 trades."""
BLACK_FRIDAY = datetime.fromisoformat("2026-11-27T19:00:00+00:00")
"""11:00 in Portland on Black Friday (policy level 3)."""

POS_ALERT = {"store": "031", "device": "s031-pos-01", "ip": "203.0.113.9"}


@dataclass
class Clock:
    """The injected time: tests move it, nothing sleeps."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **span: float) -> None:
        self.now += timedelta(**span)


@dataclass
class World:
    """A database, an estate, a clock, a recording backend and the engine over them."""

    database: Database
    estate: Estate
    clock: Clock
    backend: RecordingBackend = field(default_factory=RecordingBackend)
    sleep: FakeSleep = field(default_factory=FakeSleep)

    def runtime(
        self,
        policy: ApprovalPolicy | None = None,
        mode: ResponseMode = ResponseMode.AUTONOMOUS,
        modes: ModeConfig | None = None,
    ) -> Runtime:
        return Runtime(
            self.database,
            self.backend.backends(gateways=["default"], channels=["soc", "lp", "escalation"]),
            policy or POLICY,
            modes or ModeConfig(default=mode),
            self.estate,
            clock=self.clock,
            sleep=self.sleep,
        )

    def responder(
        self,
        playbooks: Sequence[Playbook],
        policy: ApprovalPolicy | None = None,
        mode: ResponseMode = ResponseMode.AUTONOMOUS,
        modes: ModeConfig | None = None,
    ) -> Responder:
        return Responder(self.runtime(policy, mode, modes), playbooks)


POLICY = ApprovalPolicy(
    approvers=[
        Approver(user="erossi", roles=["security_lead"], stores=["031"]),
        Approver(user="jiyer", roles=["security_lead"], stores=["044"]),
        Approver(user="westlead", roles=["security_lead"], regions=["west"]),
        Approver(user="ana", roles=["security_lead"]),
        Approver(user="mlead", roles=["soc_manager"]),
    ],
    defaults=ApprovalDefaults(
        expires_in=timedelta(minutes=30),
        escalate_after=timedelta(minutes=10),
        escalate_to=["soc_manager"],
    ),
    channel="soc",
    escalation_channel="escalation",
)
"""erossi covers 031, jiyer 044, westlead the west region, ana and mlead everything."""


def incident(database: Database, estate: Estate, alerts: Sequence[Alert]) -> Incident:
    """Store the alerts, correlate them, and return the incident of the first one."""
    store_alerts(database, list(alerts))
    service.correlate_stored(database, estate)
    found = [
        i for i in service.list_incidents(database) if alerts[0].uid in {a.uid for a in i.alerts}
    ]
    return found[0] if found else service.list_incidents(database)[0]


def pos_malware(database: Database, estate: Estate, minutes: float = 0) -> Incident:
    alert = make_alert(
        "vigil.pos.new_destination", minutes, POS_ALERT, severity="critical", use_case="pos_malware"
    )
    return incident(database, estate, [alert])


def playbook(text: str) -> Playbook:
    """A playbook written inline in a test (must lint cleanly)."""
    document = YAML(typ="rt").load(StringIO(text))
    found, problems = parse_playbook(document, "<test>", 1)
    assert not problems, [str(p) for p in problems]
    assert found is not None
    return found
