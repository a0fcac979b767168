"""incident queue: the risk-order index, incident_stores, changed_at for the live queue

Existing incidents get their store rows from `stores` (or `store_uid`), and the
time of the upgrade as `changed_at` (not their event time, which a simulator may
put in the future: the live queue polls by the wall clock).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:45:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5000


def upgrade() -> None:
    op.create_table(
        "incident_stores",
        sa.Column("incident_uid", sa.String(length=64), nullable=False),
        sa.Column("store_uid", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["incident_uid"], ["incidents.uid"]),
        sa.PrimaryKeyConstraint("incident_uid", "store_uid"),
    )
    op.create_index("ix_incident_stores_store", "incident_stores", ["store_uid", "incident_uid"])
    _fill_stores()
    # A constant default lets SQLite add a NOT NULL column without rebuilding the table.
    op.add_column(
        "incidents",
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=_now_literal(),
        ),
    )
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("incidents", "changed_at", server_default=None)
    op.create_index("ix_incidents_queue", "incidents", [sa.desc(sa.column("risk")), "uid"])
    op.create_index("ix_incidents_changed", "incidents", ["changed_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_stores_store", table_name="incident_stores")
    op.drop_table("incident_stores")
    op.drop_index("ix_incidents_changed", table_name="incidents")
    op.drop_index("ix_incidents_queue", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:  # SQLite: the table is copied without it
        batch.drop_column("changed_at")


def _fill_stores() -> None:
    """One row per store of every stored incident, as `stores_of` reads them."""
    bind = op.get_bind()
    incidents = sa.table(
        "incidents", sa.column("uid"), sa.column("store_uid"), sa.column("stores", sa.JSON)
    )
    target = sa.table("incident_stores", sa.column("incident_uid"), sa.column("store_uid"))
    rows: list[dict[str, str]] = []
    found = bind.execute(
        sa.select(incidents.c.uid, incidents.c.store_uid, incidents.c.stores)
    ).all()
    for uid, store_uid, stores in found:
        for store in sorted(set(stores or ([store_uid] if store_uid else []))):
            rows.append({"incident_uid": uid, "store_uid": store})
        if len(rows) >= CHUNK:
            bind.execute(target.insert(), rows)
            rows = []
    if rows:
        bind.execute(target.insert(), rows)


def _now_literal() -> sa.TextClause:
    """The upgrade's time as a literal in the form each database keeps timestamps."""
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        return sa.text(f"'{now:%Y-%m-%d %H:%M:%S.%f}'")
    return sa.text(f"'{now.isoformat()}'")
