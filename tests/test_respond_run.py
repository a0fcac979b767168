"""Playbook runs end to end: incident -> playbook -> approval -> action -> contained -> metrics;
expiry that fails closed and escalates; crashes that resume without repeating a step; retries;
response modes; the database ledger; the CLI; and one run against real nftables in a netns."""

from __future__ import annotations

import io
import json
import os
import shutil
from datetime import timedelta
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ruamel.yaml import YAML
from sqlalchemy import select
from typer.testing import CliRunner

import test_respond_nftables as nft
import vigil.cli_respond as cli
from correlate_helpers import make_alert
from respond_helpers import (
    POS_ALERT,
    TRADING,
    Clock,
    World,
    incident,
    playbook,
    pos_malware,
)
from vigil.correlate import service
from vigil.correlate.types import IncidentStatus
from vigil.estate import Estate
from vigil.respond.actions import actions
from vigil.respond.approvals import ApprovalStatus, Vote
from vigil.respond.backends import Backends
from vigil.respond.dbledger import DatabaseLedger
from vigil.respond.errors import PermanentError, RepeatRefusedError, TransientError
from vigil.respond.ledger import Ledger, MemoryLedger
from vigil.respond.metrics import Metric, report
from vigil.respond.modes import ModeConfig, ResponseMode, incident_mode
from vigil.respond.network import BlockIpParams
from vigil.respond.playbooks import load_pack
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.runs import RunStatus, StepStatus
from vigil.respond.playbooks.runtime import Runtime
from vigil.respond.recording import RecordingBackend
from vigil.respond.types import ActionResult, ActionStatus, RiskLevel
from vigil.store.database import Database, _alembic_config
from vigil.store.models import AuditEntry, Base


def _audit_actions(database: Database) -> list[str]:
    with database.session() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def _steps(world: World, run_uid: str) -> dict[str, tuple[StepStatus, str]]:
    return {s.step_id: (s.status, s.detail) for s in world.runtime().store.steps(run_uid)}


# --- the whole way ---------------------------------------------------------------------------


def test_incident_to_containment_with_an_approval_and_response_times(
    database: Database, estate: Estate
) -> None:
    found = pos_malware(database, estate, minutes=480)  # first evidence 10:59, alert 11:00 local
    assert (found.first_seen, found.opened_at) == (TRADING - timedelta(minutes=1), TRADING)
    world = World(database, estate, Clock(TRADING + timedelta(minutes=2)))
    responder = world.responder(load_pack())

    [run] = responder.start(found.uid, "ana")
    assert run.status is RunStatus.WAITING
    assert service.get(database, found.uid).status is IncidentStatus.ACKNOWLEDGED
    [request] = responder.rt.store.approvals(statuses=[ApprovalStatus.PENDING])
    assert (request.action, request.risk, request.why) == (
        "quarantine_device",
        RiskLevel.HIGH,
        "approval needed: store 031 is open",
    )
    assert "Will run: expires_in=PT8H, device=10.31.11.11, management=10.31.60.1" in request.impact
    assert world.backend.quarantined == {}
    assert [channel for channel, _ in world.backend.sent] == ["soc"]  # the request, announced

    world.clock.advance(minutes=5)
    with pytest.raises(Exception, match="separation of duties"):
        responder.decide(request.uid, "ana", Vote.APPROVE, "I asked, I approve", "console")
    decided = responder.decide(
        request.uid, "erossi", Vote.APPROVE, "beacon confirmed", "phone 10.9.0.4"
    )
    assert decided.status is ApprovalStatus.APPROVED

    finished = responder.rt.store.run(run.uid)
    assert finished.status is RunStatus.COMPLETED
    assert _steps(world, run.uid) == {
        "quarantine": (
            StepStatus.DONE,
            "quarantined POS lane 1 (10.31.11.11); still reachable from "
            "10.31.60.1, 10.31.60.11, 10.31.60.12, 10.31.60.13, 10.31.60.2",
        ),
        "block-c2": (StepStatus.DONE, "blocked 203.0.113.9/32"),
        "notify-soc": (StepStatus.DONE, "notified soc: recorded"),
    }
    assert list(world.backend.quarantined) == [ip_address("10.31.11.11")]
    assert list(world.backend.blocked) == [("address", ip_network("203.0.113.9/32"))]
    contained = service.get(database, found.uid)
    assert contained.status is IncidentStatus.CONTAINED
    assert contained.contained_at == TRADING + timedelta(minutes=7)

    figures = report([contained]).incidents[0]
    assert (
        figures.time_to_detect,
        figures.time_to_acknowledge,
        figures.time_to_contain,
        figures.dwell_time,
        figures.ongoing,
    ) == (
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=7),
        timedelta(minutes=8),
        False,
    )
    actions = _audit_actions(database)
    assert actions[actions.index("incident.status") :] == [
        "incident.status",  # acknowledged when ana started the run
        "respond.run.start",
        "respond.approval.request",
        "respond.approval.refused",  # ana may not approve her own request
        "respond.approval.decide",
        "respond.action",  # quarantine
        "incident.status",  # contained
        "respond.step.automatic",  # block-c2: medium risk, no approval needed
        "respond.action",
        "respond.step.automatic",  # notify-soc
        "respond.action",
        "respond.run.finish",
    ]
    assert database.verify_audit() == len(actions)


def test_expiry_fails_closed_and_escalates(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate, minutes=480)
    world = World(database, estate, Clock(TRADING))
    responder = world.responder(load_pack())
    [run] = responder.start(found.uid, "ana")
    [request] = responder.rt.store.approvals()
    world.clock.advance(minutes=10)  # the playbook escalates after 10 min
    assert responder.tick().escalated == (request.uid,)
    world.clock.advance(minutes=10)  # and expires after 20
    tick = responder.tick()
    assert tick.expired == (request.uid,)
    assert responder.rt.store.approval(request.uid).status is ApprovalStatus.EXPIRED
    steps = _steps(world, run.uid)
    assert steps["quarantine"] == (
        StepStatus.EXPIRED,
        "nobody approved by 2026-11-23 19:20:00 UTC: not run (fail closed)",
    )
    assert world.backend.quarantined == {}
    assert steps["block-c2"][0] is StepStatus.DONE  # on_failure: continue
    assert tick.runs[0].status is RunStatus.COMPLETED
    titles = [(channel, notice.title) for channel, notice in world.backend.sent]
    assert titles[:3] == [
        ("soc", f"Approval needed: quarantine on {found.uid}"),
        ("escalation", f"Approval escalated: quarantine on {found.uid}"),
        ("escalation", f"Approval expired: quarantine on {found.uid}"),
    ]
    assert "NOT run (fail closed)" in world.backend.sent[2][1].text


def test_automatic_response_after_hours_needs_nobody(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate)  # 03:00 in Portland: the store is closed
    world = World(database, estate, Clock(found.opened_at + timedelta(seconds=30)))
    [run] = world.responder(load_pack()).respond(found.uid)
    assert (run.status, run.requested_by) == (RunStatus.COMPLETED, "vigil")
    assert _steps(world, run.uid)["quarantine"] == (
        StepStatus.DONE,
        "quarantined POS lane 1 (10.31.11.11); still reachable from "
        "10.31.60.1, 10.31.60.11, 10.31.60.12, 10.31.60.13, 10.31.60.2",
    )
    after = service.get(database, found.uid)
    assert (after.status, after.acknowledged_at) == (IncidentStatus.CONTAINED, None)
    assert report([after]).incidents[0].time_to_contain == timedelta(seconds=30)
    automatic = [e for e in _audit_entries(database) if e.action == "respond.step.automatic"]
    assert [e.detail["detail"] for e in automatic] == [
        "automatic: store 031 is closed",  # quarantine_device is high risk: the rule said no
        "block_ip is medium risk, below the approval threshold (high)",
        "notify is low risk, below the approval threshold (high)",
    ]


def _audit_entries(database: Database) -> list[AuditEntry]:
    with database.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_a_stop_after_an_expiry_denies_the_run(database: Database, estate: Estate) -> None:
    strict = playbook(
        """
id: strict
title: Nothing without a yes
trigger: {use_cases: [pos_malware]}
steps:
  - id: quarantine
    action: quarantine_device
    params: {device: "{{ asset.ip }}", management: "{{ store.management }}", expires_in: 1h}
    approval: {expires_in: 5m}
  - id: tell
    action: notify
    params: {channel: soc, title: after, text: x}
"""
    )
    found = pos_malware(database, estate, minutes=480)
    world = World(database, estate, Clock(TRADING))
    responder = world.responder([strict])
    [run] = responder.start(found.uid, "ana")
    world.clock.advance(minutes=6)
    [after] = responder.tick().runs
    assert after.status is RunStatus.DENIED
    assert after.detail.startswith("quarantine: nobody approved")
    assert set(_steps(world, run.uid)) == {"quarantine"}


# --- crashes and restarts --------------------------------------------------------------------


class Crash(BaseException):
    """The process dies here (not an adapter failure: nothing catches it)."""


class CrashingBackend(RecordingBackend):
    """Dies once, right after the named operation went out."""

    def __init__(self, crash_on: str) -> None:
        super().__init__()
        self.crash_on: str | None = crash_on

    def record(self, operation: str, target: object, detail: str = "") -> None:
        super().record(operation, target, detail)
        if operation == self.crash_on:
            self.crash_on = None
            raise Crash(operation)


STEPS = playbook(
    """
id: three-steps
title: Tell, block, tell again
trigger: {use_cases: [pos_malware]}
steps:
  - id: tell
    action: notify
    params: {channel: soc, title: first, text: x}
  - id: block
    action: block_ip
    params: {address: "{{ public_ip }}", expires_in: 1h}
  - id: tell-again
    action: notify
    params: {channel: soc, title: second, text: x}
"""
)


def _restart(world: World, backend: RecordingBackend) -> Responder:
    """A new process: a fresh engine over the same database and the same (real) backend."""
    runtime = Runtime(
        world.database,
        backend.backends(gateways=["default"], channels=["soc"]),
        modes=ModeConfig(default=ResponseMode.AUTONOMOUS),
        estate=world.estate,
        clock=world.clock,
        sleep=world.sleep,
    )
    return Responder(runtime, [STEPS])


def test_a_crash_after_step_one_resumes_without_repeating_it(
    database: Database, estate: Estate
) -> None:
    found = pos_malware(database, estate)
    backend = CrashingBackend(crash_on="block")
    world = World(database, estate, Clock(TRADING), backend=backend)
    with pytest.raises(Crash):
        _restart(world, backend).start(found.uid, "ana")
    [run] = world.runtime().store.runs()
    assert (run.status, run.current_step) == (RunStatus.RUNNING, "block")
    assert _steps(world, run.uid)["tell"][0] is StepStatus.DONE

    [resumed] = _restart(world, backend).recover()
    assert resumed.status is RunStatus.COMPLETED
    assert [notice.title for _, notice in backend.sent] == ["first", "second"]
    assert [call.operation for call in backend.calls] == ["send", "block", "block", "send"]
    assert list(backend.blocked) == [("address", ip_network("203.0.113.9/32"))]


def test_a_crash_inside_a_step_that_must_not_repeat_is_marked(
    database: Database, estate: Estate
) -> None:
    found = pos_malware(database, estate)
    backend = CrashingBackend(crash_on="send")
    world = World(database, estate, Clock(TRADING), backend=backend)
    with pytest.raises(Crash):
        _restart(world, backend).start(found.uid, "ana")
    [resumed] = _restart(world, backend).recover()
    assert resumed.status is RunStatus.INTERRUPTED
    status, detail = _steps(world, resumed.uid)["tell"]
    assert status is StepStatus.UNKNOWN
    assert "may already have run and must not repeat; check by hand" in detail
    assert [call.operation for call in backend.calls] == ["send"]
    assert "respond.step.unknown" in _audit_actions(database)
    assert _restart(world, backend).recover() == []


def test_starting_twice_finds_the_same_run(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate)
    world = World(database, estate, Clock(TRADING))
    responder = world.responder([STEPS])
    [first] = responder.start(found.uid, "ana")
    [second] = responder.start(found.uid, "ben")
    assert first.uid == second.uid
    assert second.requested_by == "ana"
    assert [c.operation for c in world.backend.calls] == ["send", "block", "send"]


# --- adapter faults --------------------------------------------------------------------------


def test_adapter_failures_are_retried_with_backoff_and_show_on_the_incident(
    database: Database, estate: Estate
) -> None:
    found = pos_malware(database, estate)
    world = World(database, estate, Clock(TRADING))
    world.backend.fail("send", TransientError("503 from the webhook"), TransientError("503"))
    world.backend.fail("block", PermanentError("gateway refuses the rule"))
    responder = world.responder([STEPS])
    [run] = responder.start(found.uid, "ana")
    assert run.status is RunStatus.FAILED
    assert run.detail.startswith("block: failed after 1 attempt(s): gateway refuses the rule")
    [tell, block] = sorted(world.runtime().store.steps(run.uid), key=lambda s: s.step_id != "tell")
    assert (tell.status, len(tell.results[0].attempts)) == (StepStatus.DONE, 3)
    assert len(world.sleep.slept) == 2
    assert world.sleep.slept[1] > world.sleep.slept[0] > 0
    assert block.status is StepStatus.FAILED
    assert block.results[0].failure is not None
    assert block.results[0].failure.message == "gateway refuses the rule"
    assert service.get(database, found.uid).status is IncidentStatus.ACKNOWLEDGED


# --- modes -----------------------------------------------------------------------------------


def test_detect_only_for_a_region_holds_every_step(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate)
    world = World(database, estate, Clock(TRADING))
    world.runtime().store.set_mode(
        "region:west", ResponseMode.DETECT_ONLY, "lead", TRADING, "pilot"
    )
    [run] = world.responder(load_pack()).start(found.uid, "ana")
    assert (run.status, run.mode) == (RunStatus.COMPLETED, ResponseMode.DETECT_ONLY)
    assert run.mode_why == "region:west is detect_only (set at run time)"
    assert {status for status, _ in _steps(world, run.uid).values()} == {StepStatus.HELD}
    assert world.backend.calls == []
    assert service.get(database, found.uid).status is IncidentStatus.ACKNOWLEDGED


def test_assisted_mode_asks_even_for_a_notification(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate)
    world = World(database, estate, Clock(TRADING))
    responder = world.responder([STEPS], mode=ResponseMode.ASSISTED)
    [run] = responder.start(found.uid, "ana")
    assert run.status is RunStatus.WAITING
    [request] = responder.rt.store.approvals(statuses=[ApprovalStatus.PENDING])
    assert (request.action, request.why) == (
        "notify",
        "assisted mode: every action waits for approval",
    )


@pytest.mark.parametrize(
    ("stores", "expected"),
    [
        (("031",), ResponseMode.AUTONOMOUS),  # region west
        (("044",), ResponseMode.DETECT_ONLY),  # the store's own
        (("112",), ResponseMode.ASSISTED),  # the default
        (("031", "044"), ResponseMode.DETECT_ONLY),  # the most careful
        ((), ResponseMode.ASSISTED),
    ],
)
def test_mode_per_store_and_region(
    estate: Estate, stores: tuple[str, ...], expected: ResponseMode
) -> None:
    config = ModeConfig(default=ResponseMode.ASSISTED, regions={"west": ResponseMode.AUTONOMOUS})
    overrides = {"store:044": ResponseMode.DETECT_ONLY}
    assert incident_mode(stores, estate, config, overrides).mode is expected


# --- the ledger and the schema ---------------------------------------------------------------


def _result(key: str) -> ActionResult:
    params = BlockIpParams.model_validate({"address": "203.0.113.7", "expires_in": 60})
    return ActionResult(
        action="block_ip", key=key, status=ActionStatus.OK, detail="ok", params=params
    )


@pytest.mark.parametrize("kind", ["memory", "database"])
def test_both_ledgers_keep_the_same_contract(database: Database, kind: str) -> None:
    ledger: Ledger = MemoryLedger() if kind == "memory" else DatabaseLedger(database)
    assert ledger.claim("k1", "block_ip", "{}") is None
    claimed = ledger.claim("k1", "block_ip", "{}")
    assert claimed is not None
    assert (claimed.action, claimed.result) == ("block_ip", None)
    ledger.finish(_result("k1"))
    done = ledger.claim("k1", "block_ip", "{}")
    assert done is not None
    assert done.result == _result("k1")
    ledger.reclaim("k1")
    again = ledger.claim("k1", "block_ip", "{}")
    assert again is not None
    assert again.result is None


def test_a_database_ledger_survives_the_process(database: Database, estate: Estate) -> None:
    found = pos_malware(database, estate)
    world = World(database, estate, Clock(TRADING))
    [run] = world.responder([STEPS]).start(found.uid, "ana")
    fresh = DatabaseLedger(database)
    tell = world.runtime().store.step(run.uid, "tell")
    assert tell is not None
    entry = fresh.get(tell.results[0].key)
    assert entry is not None
    assert entry.result is not None
    assert entry.result.detail == "notified soc: recorded"
    context = world.runtime().context(tell.results[0].key, found.uid)
    notify = actions.get("notify")()
    with pytest.raises(RepeatRefusedError, match="with other parameters"):
        notify.run({"channel": "soc", "title": "other", "text": "x"}, context)


def test_migration_0005_downgrades_and_upgrades(database: Database) -> None:
    config = _alembic_config()
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert database.revision() == "0004"
    database.migrate()
    assert database.revision() == Database.head_revision()
    with database.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


# --- the CLI ---------------------------------------------------------------------------------

RESPOND_YAML = """
version: 1
approvals:
  approvers:
    - {user: erossi, roles: [security_lead], stores: ["031"]}
  channel: soc
modes: {default: autonomous}
"""


def test_cli_runs_a_playbook_through_an_approval(
    database: Database, tmp_path: Path, estate: Estate, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path  # where the `database` fixture keeps vigil.db
    (data / "estate.yaml").write_text(_one_store(estate))
    (data / "respond.yaml").write_text(RESPOND_YAML)
    found = pos_malware(database, estate, minutes=480)
    database.close()
    backend = RecordingBackend()
    clock = Clock(TRADING + timedelta(minutes=2))
    monkeypatch.setattr(cli, "BACKENDS", lambda _: backend.backends(channels=["soc"]))
    monkeypatch.setattr(cli, "CLOCK", clock)
    runner = CliRunner()
    base = ["--data", str(data)]

    dry = runner.invoke(cli.app, ["run", found.uid[:12], "--dry-run", *base])
    assert dry.exit_code == 0, dry.output
    assert "- quarantine: would wait for approval: quarantine_device (high risk)" in dry.output
    assert backend.calls == []

    started = runner.invoke(cli.app, ["run", found.uid, "--actor", "ana", *base])
    assert started.exit_code == 0, started.output
    assert "waiting for approval" in started.output
    listed = runner.invoke(cli.app, ["approvals", "list", *base], env={"COLUMNS": "250"})
    assert listed.exit_code == 0, listed.output
    request_id = _pending_id(data)
    assert request_id in listed.output
    assert "quarantine_device (high)" in listed.output
    refused = runner.invoke(
        cli.app, ["approve", request_id, "--reason", "mine", "--actor", "ana", *base]
    )
    assert refused.exit_code == 1
    assert "separation of duties" in refused.output
    clock.advance(minutes=5)
    approved = runner.invoke(
        cli.app,
        [
            "approve",
            request_id[:6],
            "--reason",
            "confirmed",
            "--actor",
            "erossi",
            "--source",
            "phone",
            *base,
        ],
    )
    assert approved.exit_code == 0, approved.output
    assert f"approval {request_id}: approved (1/1)" in approved.output
    assert "run " in approved.output
    assert ": completed (pos-malware, autonomous)" in approved.output
    shown = runner.invoke(cli.app, ["show", found.uid, *base])
    assert "- block-c2: done: blocked 203.0.113.9/32" in shown.output

    metrics = runner.invoke(cli.app, ["metrics", "--json", *base])
    assert metrics.exit_code == 0, metrics.output
    figures = json.loads(metrics.output)
    [row] = figures["incidents"]
    assert (row["time_to_acknowledge_s"], row["time_to_contain_s"], row["dwell_time_s"]) == (
        120.0,
        420.0,
        480.0,
    )
    assert figures["groups"][0]["time_to_contain"]["count"] == 1

    moved = runner.invoke(
        cli.app,
        ["mode", "set", "west", "detect_only", "--reason", "pilot", "--actor", "lead", *base],
    )
    assert moved.exit_code == 0, moved.output
    assert "region:west: unset -> detect_only" in moved.output
    modes = runner.invoke(cli.app, ["mode", "list", *base])
    assert "region:west is detect_only (set at run time)" in modes.output
    wrong = runner.invoke(cli.app, ["mode", "set", "mars", "assisted", *base])
    assert wrong.exit_code == 1
    assert "'mars' is no store" in wrong.output
    ticked = runner.invoke(cli.app, ["tick", *base])
    assert "0 escalated, 0 expired (fail closed), 0 run(s) resumed" in ticked.output


def _one_store(estate: Estate) -> str:
    """The sample estate cut down to store 031 (reading the whole one costs the CLI a second)."""
    [west] = [region for region in estate.regions if region.uid == "west"]
    stores = [store for store in west.stores if store.uid == "031"]
    small = estate.model_copy(
        update={"regions": [west.model_copy(update={"stores": stores})], "identities": []}
    )
    text = io.StringIO()
    YAML(typ="safe").dump(small.model_dump(mode="json", exclude_defaults=True), text)
    return text.getvalue()


def _pending_id(data: Path) -> str:
    database = Database.open(f"sqlite:///{data / 'vigil.db'}", migrate=False)
    try:
        [request] = Runtime(database, Backends()).store.approvals(statuses=[ApprovalStatus.PENDING])
    finally:
        database.close()
    return request.uid


# --- real nftables ---------------------------------------------------------------------------

pair = nft.pair
needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("nft") is None,
    reason="needs root, `ip` (iproute2) and `nft` (apt-get install nftables)",
)


@needs_netns
def test_an_approved_block_reaches_a_real_nftables_gateway(
    pair: nft.Pair, database: Database, estate: Estate
) -> None:
    alert = make_alert(
        "vigil.pos.new_destination", 480, {**POS_ALERT, "ip": nft.A_IP}, use_case="pos_malware"
    )
    found = incident(database, estate, [alert])
    block = playbook(
        """
id: block-source
title: Block the source at the gateway
trigger: {use_cases: [pos_malware]}
steps:
  - id: block
    action: block_ip
    params: {address: "{{ entity.ip }}", expires_in: 10m}
    approval: {}
"""
    )
    backend = RecordingBackend()
    firewall = nft.NftFirewall(netns=pair.b)
    backends = Backends(firewalls={"default": firewall}, notifiers=backend.backends().notifiers)
    clock = Clock(TRADING)
    runtime = Runtime(
        database,
        backends,
        World(database, estate, clock).runtime().policy,
        ModeConfig(default=ResponseMode.AUTONOMOUS),
        estate,
        clock=clock,
    )
    responder = Responder(runtime, [block])
    assert pair.a_to_b()
    [run] = responder.start(found.uid, "ana")
    assert run.status is RunStatus.WAITING
    assert pair.a_to_b()
    [request] = runtime.store.approvals()
    responder.decide(request.uid, "erossi", Vote.APPROVE, "confirmed", "console")
    assert runtime.store.run(run.uid).status is RunStatus.COMPLETED
    assert not pair.a_to_b()
    assert ip_network(nft.A_IP) in firewall.elements()["block4"]
    assert service.get(database, found.uid).status is IncidentStatus.CONTAINED
    assert (
        report([service.get(database, found.uid)]).overall.summary(Metric.TIME_TO_CONTAIN).count
        == 1
    )
