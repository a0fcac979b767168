"""ingest: per-source totals, dead letters tied to their batch

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("batch_uid", sa.String(length=1000), nullable=True))
        batch.create_index("ix_dead_letters_batch", ["source", "batch_uid"])
    op.create_table(
        "ingest_sources",
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("format", sa.String(length=100), nullable=False),
        sa.Column("records", sa.BigInteger(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("rejected", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("pans_masked", sa.BigInteger(), nullable=False),
        sa.Column("recoded", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )


def downgrade() -> None:
    op.drop_table("ingest_sources")
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_index("ix_dead_letters_batch")
        batch.drop_column("batch_uid")
