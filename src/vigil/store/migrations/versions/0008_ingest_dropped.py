"""ingest sources: `dropped`, records a connector lost before parsing

A UDP datagram the listener had to drop while ingest was behind, or an
oversized syslog message, never reaches a parser; it is counted here so that
`vigil ingest status` and the console show it instead of a log line.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ingest_sources") as table:
        table.add_column(sa.Column("dropped", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ingest_sources") as table:
        table.drop_column("dropped")
