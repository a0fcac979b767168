"""audit head: serialise audit writers and detect truncation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    connection = op.get_bind()
    last = connection.execute(
        sa.text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    ).scalar()
    count = connection.execute(sa.text("SELECT count(*) FROM audit_log")).scalar() or 0
    op.bulk_insert(head, [{"id": 1, "hash": last or GENESIS, "entries": count}])


def downgrade() -> None:
    op.drop_table("audit_head")
