"""Tables of the operational database (SQLAlchemy 2, typed mappings).

Schema changes go through Alembic migrations in `vigil/store/migrations`; a test
checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
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


def _wall_clock() -> datetime:
    return datetime.now(UTC)


class Incident(Base):
    """Alerts folded into one case, with status, risk and verdict.

    `store_uid` is the incident's one store (null when it spans several: see
    `stores`, mirrored in `incident_stores` for scoped queries); times are event
    times, except `changed_at`; `acknowledged_at` and `contained_at` are the
    response stage's to fill.
    """

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
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    contained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    severity_id: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    risk_level: Mapped[str | None] = mapped_column(String(16))
    explanation: Mapped[str | None] = mapped_column(Text)
    risk_parts: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    stores: Mapped[list[str] | None] = mapped_column(JSON)
    tactics: Mapped[list[str] | None] = mapped_column(JSON)
    notes: Mapped[list[dict[str, object]] | None] = mapped_column(JSON)
    merged_from: Mapped[list[str] | None] = mapped_column(JSON)
    merged_into: Mapped[str | None] = mapped_column(String(64))
    alert_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    evidence_count: Mapped[int] = mapped_column(Integer, nullable=False, server_default="0")
    time_to_detect_s: Mapped[float | None] = mapped_column()
    dwell_s: Mapped[float | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, default=_wall_clock, onupdate=_wall_clock
    )
    """When the row last changed, by the wall clock of whoever changed it (the pipeline or
    a person): what the live queue polls for, instead of re-reading every incident."""

    __table_args__ = (
        Index("ix_incidents_status_risk", "status", "risk"),
        Index("ix_incidents_last_seen", "last_seen"),
        Index("ix_incidents_changed", "changed_at"),
    )


# The queue's order (risk highest first, then uid) and its cursor's; made outside the class
# because a descending column needs the mapped attribute.
Index("ix_incidents_queue", Incident.risk.desc(), Incident.uid)


class IncidentStore(Base):
    """One store of an incident (its `stores`, one row each), kept in step by the correlator:
    a scoped queue finds its incidents through the store index instead of scanning them all."""

    __tablename__ = "incident_stores"

    incident_uid: Mapped[str] = mapped_column(ForeignKey("incidents.uid"), primary_key=True)
    store_uid: Mapped[str] = mapped_column(String(64), primary_key=True)

    __table_args__ = (Index("ix_incident_stores_store", "store_uid", "incident_uid"),)


class IncidentEntity(Base):
    """An entity of an incident, with its key scope (store, or empty: estate-wide) and role."""

    __tablename__ = "incident_entities"

    incident_uid: Mapped[str] = mapped_column(ForeignKey("incidents.uid"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(500), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    alerts: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (Index("ix_incident_entities_value", "kind", "value"),)


class IncidentAlert(Base):
    """A distinct finding of an incident; its duplicates only raise `count`."""

    __tablename__ = "incident_alerts"

    incident_uid: Mapped[str] = mapped_column(ForeignKey("incidents.uid"), primary_key=True)
    alert_uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), nullable=False)
    rule_uid: Mapped[str] = mapped_column(String(200), nullable=False)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    record: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    """Title, use case, severity, score, first seen, entities, ATT&CK, explanation."""

    __table_args__ = (Index("ix_incident_alerts_alert", "alert_uid"),)


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
    dropped: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    """Records a connector lost before parsing (UDP datagrams while behind, oversized)."""
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


# --- response (vigil.respond) -------------------------------------------------------------


class ResponseRun(Base):
    """A playbook run on an incident, with the playbook as it was when the run started."""

    __tablename__ = "response_runs"

    uid: Mapped[str] = mapped_column(String(200), primary_key=True)
    incident_uid: Mapped[str] = mapped_column(ForeignKey("incidents.uid"), nullable=False)
    playbook_id: Mapped[str] = mapped_column(String(64), nullable=False)
    playbook: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    mode_why: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    current_step: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    detail: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        Index("ix_response_runs_incident", "incident_uid"),
        Index("ix_response_runs_status", "status"),
    )


class ResponseStep(Base):
    """The state of one step of a run: written before and after it acts."""

    __tablename__ = "response_steps"

    run_uid: Mapped[str] = mapped_column(ForeignKey("response_runs.uid"), primary_key=True)
    step_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    action: Mapped[str | None] = mapped_column(String(100))
    params: Mapped[list[dict[str, object]]] = mapped_column(JSON, nullable=False)
    results: Mapped[list[dict[str, object]]] = mapped_column(JSON, nullable=False)
    approval_uid: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResponseApproval(Base):
    """A step waiting for people: its terms, what it will do, and why it waits."""

    __tablename__ = "response_approvals"

    uid: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_uid: Mapped[str] = mapped_column(ForeignKey("response_runs.uid"), nullable=False)
    step_id: Mapped[str] = mapped_column(String(64), nullable=False)
    incident_uid: Mapped[str] = mapped_column(String(64), nullable=False)
    playbook_id: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    risk: Mapped[str] = mapped_column(String(16), nullable=False)
    impact: Mapped[str] = mapped_column(Text, nullable=False)
    why: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    escalate_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    roles: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    escalation_roles: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    quorum: Mapped[int] = mapped_column(Integer, nullable=False)
    stores: Mapped[dict[str, str | None]] = mapped_column(JSON, nullable=False)

    __table_args__ = (Index("ix_response_approvals_status", "status", "expires_at"),)


class ResponseDecision(Base):
    """One approver's decision on a request: who, when, from where, and why."""

    __tablename__ = "response_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_uid: Mapped[str] = mapped_column(ForeignKey("response_approvals.uid"), nullable=False)
    approver: Mapped[str] = mapped_column(String(200), nullable=False)
    vote: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(String(500), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (
        Index("ix_response_decisions_approver", "approval_uid", "approver", unique=True),
    )


class ResponseLedgerEntry(Base):
    """The idempotency ledger of actions: a claim before acting, the result after."""

    __tablename__ = "response_ledger"

    key: Mapped[str] = mapped_column(String(500), primary_key=True)
    action: Mapped[str] = mapped_column(String(100), nullable=False)
    params_json: Mapped[str] = mapped_column(Text, nullable=False)
    result: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ResponseModeSetting(Base):
    """A response mode set at run time for a store, a region or the default."""

    __tablename__ = "response_modes"

    scope: Mapped[str] = mapped_column(String(100), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), nullable=False)
    set_by: Mapped[str] = mapped_column(String(200), nullable=False)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)


# --- console (vigil.console) --------------------------------------------------------------


class ConsoleUser(Base):
    """A local console account: an argon2 hash (never the password), one role, a scope."""

    __tablename__ = "console_users"

    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(500), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    """Store uids, `region:<uid>` entries, or `*` for every store."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ConsoleSession(Base):
    """A signed-in browser: only the SHA-256 of its random id is kept, with its CSRF token."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("console_users.username"), nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)

    __table_args__ = (Index("ix_console_sessions_user", "username"),)


class ConsoleToken(Base):
    """An API token for machines: stored hashed, with its own role and scope."""

    __tablename__ = "console_tokens"

    uid: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    scopes: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_by: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsoleComment(Base):
    """A comment on an incident, by whom and when."""

    __tablename__ = "console_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_uid: Mapped[str] = mapped_column(ForeignKey("incidents.uid"), nullable=False)
    author: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)

    __table_args__ = (Index("ix_console_comments_incident", "incident_uid", "at"),)


class ConsoleSavedSearch(Base):
    """A hunt query someone saved under a name (theirs alone)."""

    __tablename__ = "console_saved_searches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(200), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    query: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (Index("ix_console_saved_owner_name", "owner", "name", unique=True),)


class DetectionOverride(Base):
    """A rule switched on or off, or edited, from the console; the live engine reads it at start."""

    __tablename__ = "detection_overrides"

    rule_uid: Mapped[str] = mapped_column(String(200), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    yaml: Mapped[str | None] = mapped_column(Text)
    """An edited copy of the rule (linted before it was saved) that replaces the pack's."""
    updated_by: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
