"""API models of approval requests and playbook runs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.respond.approvals import ApprovalRequest
from vigil.respond.playbooks.plan import Plan
from vigil.respond.playbooks.runs import RunRecord, StepRecord


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApprovalRead(Model):
    uid: str = Field(description="Approval id.")
    incident_uid: str = Field(description="The incident the run acts on.")
    run_uid: str = Field(description="The playbook run waiting.")
    step: str = Field(description="The step waiting.")
    action: str = Field(description="What the step will do.")
    risk: str = Field(description="The action's risk: low, medium, high or critical.")
    why: str = Field(description="Why it waits for people.")
    impact: str = Field(description="What it will change, in words (the business impact).")
    requested_by: str = Field(description="Who started the run (cannot approve it).")
    requested_at: datetime = Field(description="When it started waiting.")
    expires_at: datetime = Field(description="Unanswered by then: it does not run.")
    stores: list[str] = Field(description="The incident's stores.")
    status: str = Field(description="pending, approved, rejected or expired.")

    @classmethod
    def of(cls, request: ApprovalRequest) -> ApprovalRead:
        return cls(
            uid=request.uid,
            incident_uid=request.incident_uid,
            run_uid=request.run_uid,
            step=request.step_id,
            action=request.action,
            risk=request.risk.value,
            why=request.why,
            impact=request.impact,
            requested_by=request.requested_by,
            requested_at=request.requested_at,
            expires_at=request.expires_at,
            stores=sorted(request.stores),
            status=request.status.value,
        )


class DecisionCreate(Model):
    reason: str = Field(max_length=2000, description="Why: kept in the audit trail.")


class StepRead(Model):
    id: str = Field(description="Step id in the playbook.")
    action: str | None = Field(description="Action run (none for a branch).")
    status: str = Field(description="The step's state.")
    detail: str = Field(description="What happened, in words.")

    @classmethod
    def of(cls, step: StepRecord) -> StepRead:
        return cls(
            id=step.step_id, action=step.action, status=step.status.value, detail=step.detail
        )


class RunRead(Model):
    uid: str = Field(description="Run id.")
    playbook: str = Field(description="Playbook id.")
    status: str = Field(description="running, waiting, completed, failed, ...")
    steps: list[StepRead] = Field(description="Steps reached so far, in order.")

    @classmethod
    def of(cls, run: RunRecord, steps: list[StepRecord]) -> RunRead:
        return cls(
            uid=run.uid,
            playbook=run.playbook.id,
            status=run.status.value,
            steps=[StepRead.of(step) for step in steps],
        )


class PlannedStepRead(Model):
    id: str = Field(description="Step id.")
    action: str | None = Field(description="Action it would run.")
    outcome: str = Field(description="What would happen: run, wait for approval, skip, ...")
    detail: str = Field(description="In words.")
    approval: str | None = Field(description="Why it would wait for approval, if it would.")


class PlanRead(Model):
    playbook: str = Field(description="Playbook id.")
    title: str = Field(description="Playbook title.")
    mode: str = Field(description="The response mode that applies, and why.")
    steps: list[PlannedStepRead] = Field(description="What each step would do now.")

    @classmethod
    def of(cls, plan: Plan) -> PlanRead:
        return cls(
            playbook=plan.playbook_id,
            title=plan.title,
            mode=f"{plan.mode.mode.value}: {plan.mode.why}",
            steps=[
                PlannedStepRead(
                    id=step.step_id,
                    action=step.action,
                    outcome=step.outcome,
                    detail=step.detail,
                    approval=step.approval.why if step.approval and step.approval.needed else None,
                )
                for step in plan.steps
            ],
        )
