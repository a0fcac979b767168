"""Approvals: who must approve, who may (roles, store scope, separation of duties), quorum,
escalation, expiry that fails closed, and every decision in the hash-chained audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from correlate_helpers import make_alert
from respond_helpers import (
    CLOSED,
    POLICY,
    TRADING,
    Clock,
    World,
    incident,
    playbook,
    pos_malware,
)
from vigil.estate import Estate
from vigil.respond.approvals import (
    ApprovalPolicy,
    ApprovalRule,
    ApprovalStatus,
    Approver,
    Vote,
    requirement,
)
from vigil.respond.backends import DirectoryUser
from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks import ActionStep, IncidentFacts, load_pack
from vigil.respond.playbooks.errors import (
    ApprovalClosedError,
    DuplicateDecisionError,
    MissingReasonError,
    NotAnApproverError,
    OutOfScopeError,
    SeparationOfDutiesError,
    SettingsError,
)
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.runs import RunStatus, StepStatus
from vigil.respond.settings import load_response_settings
from vigil.respond.types import RiskLevel
from vigil.store.database import Database
from vigil.store.errors import AuditChainBrokenError
from vigil.store.models import AuditEntry, ResponseDecision

QUARANTINE = playbook(
    """
id: lane
title: Quarantine a lane
trigger: {use_cases: [pos_malware]}
steps:
  - id: quarantine
    action: quarantine_device
    params:
      device: "{{ asset.ip }}"
      management: "{{ store.management }}"
      expires_in: 4h
"""
)
"""No approval block: the policy decides (and the risk, high, when no rule applies)."""

LANE_POLICY = POLICY.model_copy(
    update={
        "rules": [
            ApprovalRule.model_validate(
                {
                    "name": "POS lanes while trading",
                    "actions": ["quarantine_device"],
                    "when": {"store_open": True, "asset_kind": ["pos_terminal", "self_checkout"]},
                    "approval": "required",
                }
            ),
            ApprovalRule.model_validate(
                {
                    "name": "POS lanes after hours",
                    "actions": ["quarantine_device"],
                    "when": {"store_open": False, "asset_segment": ["pos"]},
                    "approval": "automatic",
                }
            ),
        ]
    }
)


def _situation(world: World, uid: str) -> Situation:
    return world.runtime().situation(world.runtime().source.get(uid))


@pytest.mark.parametrize(
    ("when", "mode", "needed", "why"),
    [
        (
            TRADING,
            ResponseMode.AUTONOMOUS,
            True,
            "policy rule 'POS lanes while trading': store 031 is open; POS lane 1",
        ),
        (
            CLOSED,
            ResponseMode.AUTONOMOUS,
            False,
            "policy rule 'POS lanes after hours': store 031 is closed; POS lane 1",
        ),
        (CLOSED, ResponseMode.ASSISTED, True, "assisted mode: every action waits for approval"),
    ],
)
def test_policy_in_configuration_asks_while_trading_and_acts_after_hours(
    database: Database, estate: Estate, when: datetime, mode: ResponseMode, needed: bool, why: str
) -> None:
    world = World(database, estate, Clock(TRADING))
    found = pos_malware(database, estate)
    world.clock.now = when
    step = QUARANTINE.steps[0]
    assert isinstance(step, ActionStep)
    need = requirement(
        LANE_POLICY, "lane", step, RiskLevel.HIGH, _situation(world, found.uid), mode
    )
    assert need.needed is needed
    assert need.why.startswith(why)


def test_without_a_rule_the_risk_decides(database: Database, estate: Estate) -> None:
    world = World(database, estate, Clock(CLOSED))
    found = pos_malware(database, estate)
    situation = _situation(world, found.uid)
    step = QUARANTINE.steps[0]
    assert isinstance(step, ActionStep)
    high = requirement(POLICY, "lane", step, RiskLevel.HIGH, situation, ResponseMode.AUTONOMOUS)
    medium = requirement(POLICY, "lane", step, RiskLevel.MEDIUM, situation, ResponseMode.AUTONOMOUS)
    assert (high.needed, high.why) == (
        True,
        "quarantine_device is high risk, at least the approval threshold (high)",
    )
    assert (medium.needed, medium.roles, medium.expires_in) == (
        False,
        ("security_lead",),
        timedelta(minutes=30),
    )


def test_the_policy_can_be_written_in_respond_yaml(tmp_path: Path) -> None:
    (tmp_path / "respond.yaml").write_text(
        """
version: 1
approvals:
  approvers:
    - {user: erossi, roles: [security_lead], stores: ["031"]}
  defaults: {expires_in: 20m, escalate_after: 5m, escalate_to: [soc_manager]}
  rules:
    - name: POS lanes while trading
      actions: [quarantine_device]
      when: {store_open: true, asset_kind: [pos_terminal, self_checkout]}
      approval: required
    - name: POS lanes after hours
      actions: [quarantine_device]
      when: {store_open: false}
      approval: automatic
modes: {default: assisted, regions: {west: autonomous}, stores: {"044": detect_only}}
"""
    )
    settings = load_response_settings(tmp_path)
    assert [rule.approval for rule in settings.approvals.rules] == ["required", "automatic"]
    assert settings.approvals.defaults.expires_in == timedelta(minutes=20)
    assert settings.modes.stores["044"] is ResponseMode.DETECT_ONLY
    (tmp_path / "respond.yaml").write_text("approvals: {min_risk: extreme}\n")
    with pytest.raises(SettingsError, match=r"approvals\.min_risk"):
        load_response_settings(tmp_path)


# --- who may decide -------------------------------------------------------------------------


@pytest.fixture
def waiting(database: Database, estate: Estate) -> tuple[World, str]:
    """A pos-malware run started by ana while store 031 trades: the quarantine waits."""
    world = World(database, estate, Clock(TRADING))
    found = pos_malware(database, estate)
    [run] = world.responder(load_pack()).start(found.uid, "ana")
    assert run.status is RunStatus.WAITING
    [request] = world.runtime().store.approvals()
    return world, request.uid


@pytest.mark.parametrize(
    ("user", "error", "message"),
    [
        ("ana", SeparationOfDutiesError, "ana asked for this run and cannot approve its steps"),
        ("mallory", NotAnApproverError, "mallory is not a configured approver"),
        ("mlead", NotAnApproverError, "mlead holds soc_manager; this request needs security_lead"),
        ("jiyer", OutOfScopeError, "jiyer's store scope does not cover 031"),
    ],
)
def test_who_may_not_approve(
    waiting: tuple[World, str], user: str, error: type[Exception], message: str
) -> None:
    world, uid = waiting
    responder = world.responder(load_pack())
    with pytest.raises(error, match=message):
        responder.decide(uid, user, Vote.APPROVE, "looks bad", "console 10.0.0.7")
    assert world.runtime().store.approval(uid).status is ApprovalStatus.PENDING
    assert world.backend.quarantined == {}
    [refused] = _audit(world.database, "respond.approval.refused")
    assert refused.actor == user
    assert message in str(refused.detail["refused"])
    assert refused.detail["source"] == "console 10.0.0.7"


def test_region_scope_and_a_reason_are_needed(waiting: tuple[World, str]) -> None:
    world, uid = waiting
    responder = world.responder(load_pack())
    with pytest.raises(MissingReasonError):
        responder.decide(uid, "westlead", Vote.APPROVE, "  ", "console")
    decided = responder.decide(
        uid, "westlead", Vote.APPROVE, "C2 beacon confirmed", "console 10.0.0.7"
    )
    assert decided.status is ApprovalStatus.APPROVED
    [decision] = decided.decisions
    assert (decision.approver, decision.vote, decision.at, decision.source, decision.reason) == (
        "westlead",
        Vote.APPROVE,
        TRADING,
        "console 10.0.0.7",
        "C2 beacon confirmed",
    )
    with pytest.raises(ApprovalClosedError, match="already approved"):
        responder.decide(uid, "erossi", Vote.APPROVE, "late", "console")


def test_quorum_counts_distinct_people_and_any_rejection_rejects(
    database: Database, estate: Estate
) -> None:
    world = World(database, estate, Clock(TRADING))
    two = playbook(
        """
id: two-keys
title: Two people must agree
trigger: {use_cases: [pos_malware]}
steps:
  - id: quarantine
    action: quarantine_device
    params: {device: "{{ asset.ip }}", management: "{{ store.management }}", expires_in: 4h}
    approval: {quorum: 2}
  - id: tell
    action: notify
    params: {channel: soc, title: done, text: x}
"""
    )
    found = pos_malware(database, estate)
    responder = world.responder([two])
    [run] = responder.start(found.uid, "mlead")
    [request] = world.runtime().store.approvals()
    first = responder.decide(request.uid, "erossi", Vote.APPROVE, "confirmed", "phone")
    assert (first.status, first.approvals) == (ApprovalStatus.PENDING, 1)
    with pytest.raises(DuplicateDecisionError):
        responder.decide(request.uid, "erossi", Vote.APPROVE, "again", "phone")
    world.clock.advance(minutes=3)
    second = responder.decide(request.uid, "ana", Vote.APPROVE, "agreed", "console")
    assert second.status is ApprovalStatus.APPROVED
    assert world.runtime().store.run(run.uid).status is RunStatus.COMPLETED
    assert len(world.backend.quarantined) == 1

    rejected_world = World(database, estate, Clock(TRADING))
    other = pos_malware(database, estate, minutes=600)
    responder = rejected_world.responder([two.model_copy(update={"id": "two-keys-b"})])
    [run] = responder.start(other.uid, "mlead")
    [request] = [r for r in rejected_world.runtime().store.approvals() if r.run_uid == run.uid]
    responder.decide(request.uid, "erossi", Vote.APPROVE, "confirmed", "phone")
    rejected = responder.decide(
        request.uid, "ana", Vote.REJECT, "lane 1 is the only open lane", "console"
    )
    assert rejected.status is ApprovalStatus.REJECTED
    finished = rejected_world.runtime().store.run(run.uid)
    assert finished.status is RunStatus.DENIED
    assert rejected_world.backend.quarantined == {}
    [state] = [
        s for s in rejected_world.runtime().store.steps(run.uid) if s.step_id == "quarantine"
    ]
    assert (state.status, state.detail) == (
        StepStatus.REJECTED,
        "rejected by ana: lane 1 is the only open lane",
    )


# --- escalation and expiry ------------------------------------------------------------------


def test_escalation_widens_the_roles_and_tells_the_escalation_channel(
    waiting: tuple[World, str],
) -> None:
    world, uid = waiting
    responder = world.responder(load_pack())
    with pytest.raises(NotAnApproverError):
        responder.decide(uid, "mlead", Vote.APPROVE, "on call", "phone")
    world.clock.advance(minutes=9)
    assert responder.tick().escalated == ()
    world.clock.advance(minutes=1)
    assert responder.tick().escalated == (uid,)
    assert responder.tick().escalated == ()
    request = world.runtime().store.approval(uid)
    assert request.eligible_roles == ("security_lead", "soc_manager")
    assert [(channel, notice.title) for channel, notice in world.backend.sent] == [
        ("soc", f"Approval needed: quarantine on {request.incident_uid}"),
        ("escalation", f"Approval escalated: quarantine on {request.incident_uid}"),
    ]
    decided = responder.decide(uid, "mlead", Vote.APPROVE, "on call, approving", "phone")
    assert decided.status is ApprovalStatus.APPROVED
    assert len(world.backend.quarantined) == 1


def test_nobody_answering_fails_closed(waiting: tuple[World, str]) -> None:
    world, uid = waiting
    responder = world.responder(load_pack())
    world.clock.advance(minutes=20)
    report = responder.tick()
    assert report.expired == (uid,)
    assert world.runtime().store.approval(uid).status is ApprovalStatus.EXPIRED
    assert world.backend.quarantined == {}
    with pytest.raises(ApprovalClosedError, match="already expired"):
        responder.decide(uid, "erossi", Vote.APPROVE, "too late", "phone")
    assert [e.detail["fail"] for e in _audit(world.database, "respond.approval.expire")] == [
        "closed"
    ]


# --- the audit trail ------------------------------------------------------------------------


def _audit(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        return list(session.scalars(query))


def test_decisions_are_in_the_audit_chain_and_tampering_shows(waiting: tuple[World, str]) -> None:
    world, uid = waiting
    responder = world.responder(load_pack())
    responder.decide(uid, "erossi", Vote.APPROVE, "C2 beacon confirmed", "console 10.0.0.7")
    [entry] = _audit(world.database, "respond.approval.decide")
    assert (entry.actor, entry.target) == ("erossi", uid)
    assert {k: entry.detail[k] for k in ("vote", "reason", "source", "at")} == {
        "vote": "approve",
        "reason": "C2 beacon confirmed",
        "source": "console 10.0.0.7",
        "at": TRADING.isoformat(),
    }
    actions = [e.detail["action"] for e in _audit(world.database, "respond.action")]
    assert actions == ["quarantine_device", "block_ip", "notify"]
    assert world.database.verify_audit() > 0
    with world.database.session() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.id == entry.id).values(actor="westlead")
        )
        session.execute(update(ResponseDecision).values(approver="westlead"))
    with pytest.raises(AuditChainBrokenError, match=f"audit entry {entry.id} does not follow"):
        world.database.verify_audit()


def test_an_incident_without_a_store_needs_an_unscoped_approver(
    database: Database, estate: Estate
) -> None:
    world = World(database, estate, Clock(TRADING))
    alert = make_alert(
        "vigil.identity.vendor_without_mfa", 0, {"user": "rt-support"}, use_case="vendor_misuse"
    )
    found = incident(database, estate, [alert])
    assert found.stores == ()
    assert IncidentFacts.of(found).values("user") == ("rt-support",)
    responder = world.responder(load_pack())
    [run] = responder.start(found.uid, "mlead")
    [request] = world.runtime().store.approvals()
    assert request.action == "disable_user"
    with pytest.raises(OutOfScopeError, match="does not cover estate-wide"):
        responder.decide(request.uid, "erossi", Vote.APPROVE, "vendor hours", "console")
    world.backend.users["u-7"] = DirectoryUser("u-7", "rt-support", True)
    responder.decide(request.uid, "ana", Vote.APPROVE, "vendor outside its window", "console")
    assert world.backend.users["u-7"].active is False
    assert world.runtime().store.run(run.uid).status is RunStatus.COMPLETED


def test_an_approver_list_is_a_policy(database: Database) -> None:
    policy = ApprovalPolicy(
        approvers=[Approver(user="a", roles=["r"], stores=["031"], regions=["east"])]
    )
    approver = policy.approver("a")
    assert approver is not None
    assert approver.covers({"031": "west"})
    assert approver.covers({"044": "east"})
    assert not approver.covers({"112": "west"})
    assert not approver.covers({})
