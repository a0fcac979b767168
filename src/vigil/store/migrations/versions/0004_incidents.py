"""incidents: risk, timeline fields and metrics; their entities and alerts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MOMENTS = ("first_seen", "last_seen", "closed_at", "acknowledged_at", "contained_at")
_JSON = ("risk_parts", "stores", "tactics", "notes", "merged_from")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        for name in _MOMENTS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("severity_id", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("risk_level", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("explanation", sa.Text(), nullable=True))
        for name in _JSON:
            batch.add_column(sa.Column(name, sa.JSON(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("alert_count", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("evidence_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(sa.Column("time_to_detect_s", sa.Double(), nullable=True))
        batch.add_column(sa.Column("dwell_s", sa.Double(), nullable=True))
        batch.create_index("ix_incidents_last_seen", ["last_seen"])
    op.create_table(
        "incident_entities",
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["incident_uid"], ["incidents.uid"]),
        sa.PrimaryKeyConstraint("incident_uid", "kind", "scope", "value"),
    )
    with op.batch_alter_table("incident_entities") as batch:
        batch.create_index("ix_incident_entities_value", ["kind", "value"])
    op.create_table(
        "incident_alerts",
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("alert_uid", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=64), nullable=False),
        sa.Column("rule_uid", sa.String(length=200), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_uid"], ["incidents.uid"]),
        sa.PrimaryKeyConstraint("incident_uid", "alert_uid"),
    )
    with op.batch_alter_table("incident_alerts") as batch:
        batch.create_index("ix_incident_alerts_alert", ["alert_uid"])


def downgrade() -> None:
    with op.batch_alter_table("incident_alerts") as batch:
        batch.drop_index("ix_incident_alerts_alert")
    op.drop_table("incident_alerts")
    with op.batch_alter_table("incident_entities") as batch:
        batch.drop_index("ix_incident_entities_value")
    op.drop_table("incident_entities")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_last_seen")
        for name in (
            "dwell_s",
            "time_to_detect_s",
            "evidence_count",
            "alert_count",
            "merged_into",
            *_JSON,
            "explanation",
            "risk_level",
            "severity_id",
            *_MOMENTS,
        ):
            batch.drop_column(name)
