"""Human approvals: who must approve which step, who may, and what their decisions add up to.

Configured in `respond.yaml` (`approvals:`):

    approvals:
      approvers:
        - {user: erossi, roles: [security_lead], stores: ["031"]}
        - {user: mlead, roles: [soc_manager]}             # no scope: every store
      defaults: {roles: [security_lead], quorum: 1, expires_in: 30m,
                 escalate_after: 15m, escalate_to: [soc_manager]}
      min_risk: high                   # actions this risky wait unless a rule says otherwise
      channel: soc                     # where requests are announced
      rules:                           # first match wins, before the playbook's own say
        - name: POS lanes while trading
          actions: [quarantine_device]
          when: {store_open: true, asset_kind: [pos_terminal, self_checkout]}
          approval: required
        - name: POS lanes after hours
          actions: [quarantine_device]
          when: {store_open: false}
          approval: automatic

Separation of duties: whoever asked for the run cannot approve its steps; an
approver decides once; an approver's store scope must cover every store of the
incident (an incident without a store needs an approver without a scope). Any
rejection rejects; the quorum counts distinct approvers. Nobody answering means
no: an expired request fails closed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field

from vigil.respond.modes import ResponseMode
from vigil.respond.playbooks.conditions import Condition, check
from vigil.respond.playbooks.errors import (
    ApprovalClosedError,
    DuplicateDecisionError,
    NotAnApproverError,
    OutOfScopeError,
    SeparationOfDutiesError,
)
from vigil.respond.playbooks.facts import Situation
from vigil.respond.playbooks.types import ActionStep, ApprovalSpec
from vigil.respond.playbooks.vocab import Duration, Model
from vigil.respond.types import RiskLevel

RISK_ORDER = tuple(RiskLevel)


class Approver(Model):
    user: str = Field(min_length=1, description="User name, as they sign in.")
    roles: list[str] = Field(min_length=1, description="Roles held, e.g. security_lead.")
    stores: list[str] = Field(
        default_factory=list, description="Stores they may approve for (with `regions`)."
    )
    regions: list[str] = Field(
        default_factory=list, description="Regions they may approve for; none of both: all."
    )

    def covers(self, stores: Mapping[str, str | None]) -> bool:
        if not self.stores and not self.regions:
            return True
        if not stores:
            return False
        return all(
            uid in self.stores or (region is not None and region in self.regions)
            for uid, region in stores.items()
        )


class ApprovalDefaults(Model):
    roles: list[str] = Field(
        default_factory=lambda: ["security_lead"], min_length=1, description="Who may approve."
    )
    quorum: int = Field(default=1, ge=1, le=5, description="Distinct approvers needed.")
    expires_in: Duration = Field(
        default=timedelta(minutes=30), description="Unanswered this long: fails closed."
    )
    escalate_after: Duration | None = Field(
        default=timedelta(minutes=15), description="Unanswered this long: escalates."
    )
    escalate_to: list[str] = Field(
        default_factory=lambda: ["soc_manager"], description="Roles added on escalation."
    )


class ApprovalRule(Model):
    name: str = Field(min_length=1, description="Shown to approvers as the reason.")
    actions: list[str] = Field(default_factory=list, description="Actions it covers; none: all.")
    playbooks: list[str] = Field(
        default_factory=list, description="Playbooks it covers; none: all."
    )
    when: Condition | None = Field(default=None, description="It applies only when this holds.")
    approval: Literal["required", "automatic"] = Field(description="Ask people, or run at once.")
    roles: list[str] | None = Field(default=None, min_length=1, description="Who may approve.")
    quorum: int | None = Field(default=None, ge=1, le=5, description="Distinct approvers needed.")
    expires_in: Duration | None = Field(default=None, description="Unanswered: fails closed.")
    escalate_after: Duration | None = Field(default=None, description="Unanswered: escalates.")
    escalate_to: list[str] | None = Field(default=None, description="Roles added on escalation.")


class ApprovalPolicy(Model):
    """The `approvals` section of `respond.yaml`."""

    approvers: list[Approver] = Field(default_factory=list, description="Who may approve what.")
    defaults: ApprovalDefaults = Field(
        default_factory=ApprovalDefaults, description="Roles, quorum, expiry, escalation."
    )
    min_risk: RiskLevel = Field(
        default=RiskLevel.HIGH, description="Actions at least this risky wait for approval."
    )
    rules: list[ApprovalRule] = Field(
        default_factory=list, description="Exceptions and additions; the first that applies wins."
    )
    channel: str | None = Field(
        default=None, description="Notification channel that announces requests."
    )
    escalation_channel: str | None = Field(
        default=None, description="Channel for escalations and expiries (default: `channel`)."
    )

    def approver(self, user: str) -> Approver | None:
        return next((a for a in self.approvers if a.user == user), None)


@dataclass(frozen=True)
class Requirement:
    """Whether a step waits for people, why, and the terms of the request."""

    needed: bool
    why: str
    roles: tuple[str, ...] = ()
    quorum: int = 1
    expires_in: timedelta = timedelta(minutes=30)
    escalate_after: timedelta | None = None
    escalate_to: tuple[str, ...] = ()


def _terms(
    needed: bool,
    why: str,
    defaults: ApprovalDefaults,
    *overrides: ApprovalSpec | ApprovalRule | None,
) -> Requirement:
    """The request's terms: the first override that sets a term wins, then the defaults."""
    given = [source for source in overrides if source is not None]
    roles = next((s.roles for s in given if s.roles is not None), defaults.roles)
    quorum = next((s.quorum for s in given if s.quorum is not None), defaults.quorum)
    expires_in = next(
        (s.expires_in for s in given if s.expires_in is not None), defaults.expires_in
    )
    escalate_after = next(
        (s.escalate_after for s in given if s.escalate_after is not None), defaults.escalate_after
    )
    escalate_to = next(
        (s.escalate_to for s in given if s.escalate_to is not None), defaults.escalate_to
    )
    return Requirement(
        needed=needed,
        why=why,
        roles=tuple(roles),
        quorum=quorum,
        expires_in=expires_in,
        escalate_after=escalate_after
        if escalate_after is not None and escalate_after < expires_in
        else None,
        escalate_to=tuple(escalate_to),
    )


def requirement(
    policy: ApprovalPolicy,
    playbook_id: str,
    step: ActionStep,
    risk: RiskLevel,
    situation: Situation,
    mode: ResponseMode,
) -> Requirement:
    """Whether `step` waits: assisted mode, then the policy's rules, the step, the risk."""
    spec = step.approval
    if mode is ResponseMode.ASSISTED:
        return _terms(True, "assisted mode: every action waits for approval", policy.defaults, spec)
    for rule in policy.rules:
        if rule.actions and step.action not in rule.actions:
            continue
        if rule.playbooks and playbook_id not in rule.playbooks:
            continue
        verdict = check(rule.when, situation)
        if verdict.holds:
            needed = rule.approval == "required"
            why = f"policy rule {rule.name!r}: {verdict.because()}"
            return _terms(needed, why, policy.defaults, rule, spec)
    if spec is not None:
        verdict = check(spec.when, situation)
        if spec.when is None:
            return _terms(True, "the playbook asks for approval", policy.defaults, spec)
        words = ("approval needed: " if verdict.holds else "automatic: ") + verdict.because()
        return _terms(verdict.holds, words, policy.defaults, spec)
    needed = RISK_ORDER.index(risk) >= RISK_ORDER.index(policy.min_risk)
    relation = "at least" if needed else "below"
    why = f"{step.action} is {risk} risk, {relation} the approval threshold ({policy.min_risk})"
    return _terms(needed, why, policy.defaults)


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Vote(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Decision:
    """One person's decision: who, when, from where, and why."""

    approver: str
    vote: Vote
    at: datetime
    source: str
    reason: str


@dataclass(frozen=True)
class ApprovalRequest:
    """A step waiting for people, with what it will do and why it waits."""

    uid: str
    run_uid: str
    step_id: str
    incident_uid: str
    playbook_id: str
    action: str
    risk: RiskLevel
    impact: str
    why: str
    requested_by: str
    requested_at: datetime
    expires_at: datetime
    escalate_at: datetime | None
    escalated_at: datetime | None
    status: ApprovalStatus
    roles: tuple[str, ...]
    escalation_roles: tuple[str, ...]
    quorum: int
    stores: Mapping[str, str | None]
    """The incident's stores and their regions: the scope an approver must cover."""
    decisions: tuple[Decision, ...] = ()
    closed_at: datetime | None = None

    @property
    def eligible_roles(self) -> tuple[str, ...]:
        if self.escalated_at is None:
            return self.roles
        return tuple(dict.fromkeys((*self.roles, *self.escalation_roles)))

    @property
    def approvals(self) -> int:
        return sum(decision.vote is Vote.APPROVE for decision in self.decisions)


def check_decider(
    request: ApprovalRequest, user: str, policy: ApprovalPolicy, now: datetime
) -> Approver:
    """The approver `user`, if they may decide on `request` now; the reason they may not if not."""
    if request.status is not ApprovalStatus.PENDING:
        raise ApprovalClosedError(f"approval {request.uid} is already {request.status}")
    if now >= request.expires_at:
        raise ApprovalClosedError(f"approval {request.uid} expired at {request.expires_at:%F %T}")
    if user == request.requested_by:
        raise SeparationOfDutiesError(
            f"{user} asked for this run and cannot approve its steps (separation of duties)"
        )
    if any(decision.approver == user for decision in request.decisions):
        raise DuplicateDecisionError(f"{user} has already decided on approval {request.uid}")
    approver = policy.approver(user)
    if approver is None:
        raise NotAnApproverError(f"{user} is not a configured approver")
    if not set(approver.roles) & set(request.eligible_roles):
        raise NotAnApproverError(
            f"{user} holds {', '.join(approver.roles)}; this request needs "
            f"{', '.join(request.eligible_roles)}"
        )
    if not approver.covers(request.stores):
        scope = ", ".join(request.stores) or "estate-wide"
        raise OutOfScopeError(f"{user}'s store scope does not cover {scope}")
    return approver


def tally(decisions: tuple[Decision, ...], quorum: int) -> ApprovalStatus:
    """Any rejection rejects; `quorum` distinct approvals approve; otherwise still pending."""
    if any(decision.vote is Vote.REJECT for decision in decisions):
        return ApprovalStatus.REJECTED
    if len({d.approver for d in decisions if d.vote is Vote.APPROVE}) >= quorum:
        return ApprovalStatus.APPROVED
    return ApprovalStatus.PENDING
