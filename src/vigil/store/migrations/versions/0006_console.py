"""console: accounts, sessions, API tokens, comments, saved searches, detection overrides

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _moment(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        _moment("created_at", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("username"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        _moment("created_at", nullable=False),
        _moment("expires_at", nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["username"], ["console_users.username"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_console_sessions_user", "console_sessions", ["username"])
    op.create_table(
        "console_tokens",
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        _moment("created_at", nullable=False),
        _moment("expires_at"),
        _moment("revoked_at"),
        sa.PrimaryKeyConstraint("uid"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "console_comments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        _moment("at", nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_uid"], ["incidents.uid"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_console_comments_incident", "console_comments", ["incident_uid", "at"])
    op.create_table(
        "console_saved_searches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        _moment("created_at", nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_console_saved_owner_name", "console_saved_searches", ["owner", "name"], unique=True
    )
    op.create_table(
        "detection_overrides",
        sa.Column("rule_uid", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("yaml", sa.Text(), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        _moment("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("rule_uid"),
    )


def downgrade() -> None:
    op.drop_table("detection_overrides")
    op.drop_index("ix_console_saved_owner_name", table_name="console_saved_searches")
    op.drop_table("console_saved_searches")
    op.drop_index("ix_console_comments_incident", table_name="console_comments")
    op.drop_table("console_comments")
    op.drop_table("console_tokens")
    op.drop_index("ix_console_sessions_user", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
