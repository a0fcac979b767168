"""Tables of the operational database (SQLAlchemy 2, typed mappings).

Schema changes go through Alembic migrations in `vigil/store/migrations`; a test
checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class AuditEntry(Base):
    """Append-only, hash-chained record of who did what (PCI DSS 10)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(200), nullable=False)
    target: Mapped[str | None] = mapped_column(String(500))
    detail: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class AuditHead(Base):
    """The newest audit hash, one row: writers lock it, so the chain never forks,
    and verification compares against it, so deleting the newest entries shows."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)
    entries: Mapped[int] = mapped_column(Integer, nullable=False)


class Alert(Base):
    """A Detection Finding, as the pipeline stored it."""

    __tablename__ = "alerts"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    rule_uid: Mapped[str] = mapped_column(String(200), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    severity_id: Mapped[int] = mapped_column(Integer, nullable=False)
    store_uid: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column()
    explanation: Mapped[str | None] = mapped_column(Text)
    finding: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    incident_uid: Mapped[str | None] = mapped_column(ForeignKey("incidents.uid"))

    __table_args__ = (Index("ix_alerts_store_time", "store_uid", "time"),)


class Incident(Base):
    """Alerts folded into one case, with status, risk and verdict."""

    __tablename__ = "incidents"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    title: Mapped[str] = mapped_column(String(500), nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="new")
    risk: Mapped[float] = mapped_column(nullable=False, default=0.0)
    store_uid: Mapped[str | None] = mapped_column(String(64))
    assignee: Mapped[str | None] = mapped_column(String(200))
    verdict: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (Index("ix_incidents_status_risk", "status", "risk"),)


class DeadLetter(Base):
    """A record that could not be ingested, kept with where it came from and why."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    position: Mapped[str | None] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    batch_uid: Mapped[str | None] = mapped_column(String(1000))
    """The ingest batch it came from: replaying a batch replaces its dead letters."""

    __table_args__ = (
        Index("ix_dead_letters_source", "source"),
        Index("ix_dead_letters_batch", "source", "batch_uid"),
    )


class IngestSource(Base):
    """Running totals per ingest source, for `vigil ingest status` and the health screen."""

    __tablename__ = "ingest_sources"

    source: Mapped[str] = mapped_column(String(500), primary_key=True)
    format: Mapped[str] = mapped_column(String(100), nullable=False)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    events: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    rejected: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    pans_masked: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    recoded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
