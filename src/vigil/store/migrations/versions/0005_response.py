"""response: playbook runs and step states, approvals and decisions, the action ledger, modes

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-10 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "response_runs",
        sa.Column("uid", sa.String(length=200), nullable=False),
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("playbook_id", sa.String(length=64), nullable=False),
        sa.Column("playbook", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("mode_why", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        sa.Column("current_step", sa.String(length=64), nullable=True),
        _moment("started_at", nullable=False),
        _moment("updated_at", nullable=False),
        _moment("finished_at"),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_uid"], ["incidents.uid"]),
        sa.PrimaryKeyConstraint("uid"),
    )
    op.create_index("ix_response_runs_incident", "response_runs", ["incident_uid"])
    op.create_index("ix_response_runs_status", "response_runs", ["status"])
    op.create_table(
        "response_steps",
        sa.Column("run_uid", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.Column("approval_uid", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        _moment("started_at"),
        _moment("finished_at"),
        sa.ForeignKeyConstraint(["run_uid"], ["response_runs.uid"]),
        sa.PrimaryKeyConstraint("run_uid", "step_id"),
    )
    op.create_table(
        "response_approvals",
        sa.Column("uid", sa.String(length=64), nullable=False),
        sa.Column("run_uid", sa.String(length=200), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("playbook_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("impact", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=False),
        _moment("requested_at", nullable=False),
        _moment("expires_at", nullable=False),
        _moment("escalate_at"),
        _moment("escalated_at"),
        _moment("closed_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("escalation_roles", sa.JSON(), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("stores", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["run_uid"], ["response_runs.uid"]),
        sa.PrimaryKeyConstraint("uid"),
    )
    op.create_index("ix_response_approvals_status", "response_approvals", ["status", "expires_at"])
    op.create_table(
        "response_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("approval_uid", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=200), nullable=False),
        sa.Column("vote", sa.String(length=16), nullable=False),
        _moment("at", nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["approval_uid"], ["response_approvals.uid"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_response_decisions_approver",
        "response_decisions",
        ["approval_uid", "approver"],
        unique=True,
    )
    op.create_table(
        "response_ledger",
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("result", sa.Text(), nullable=True),
        _moment("claimed_at", nullable=False),
        _moment("finished_at"),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "response_modes",
        sa.Column("scope", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("set_by", sa.String(length=200), nullable=False),
        _moment("set_at", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scope"),
    )


def downgrade() -> None:
    op.drop_table("response_modes")
    op.drop_table("response_ledger")
    op.drop_index("ix_response_decisions_approver", table_name="response_decisions")
    op.drop_table("response_decisions")
    op.drop_index("ix_response_approvals_status", table_name="response_approvals")
    op.drop_table("response_approvals")
    op.drop_table("response_steps")
    op.drop_index("ix_response_runs_status", table_name="response_runs")
    op.drop_index("ix_response_runs_incident", table_name="response_runs")
    op.drop_table("response_runs")
