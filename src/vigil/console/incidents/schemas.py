"""API models of the incident queue and the incident page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.approvals.schemas import ApprovalRead, PlanRead, RunRead
from vigil.console.incidents.detail import IncidentDetail
from vigil.console.incidents.types import BulkAction, Comment, IncidentSummary, Verdict
from vigil.console.video.types import VideoRef
from vigil.correlate.types import TimelineEntry
from vigil.detect.types import Severity


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentBase(Model):
    uid: str = Field(description="Incident id.")
    title: str = Field(description="What happened, in a line.")
    status: str = Field(description="new, acknowledged, contained, reopened, resolved, closed.")
    risk: float = Field(description="0-100.")
    risk_level: str = Field(description="low, medium, high or critical.")
    use_case: str = Field(description="The retail use case of its most severe alert.")
    stores: list[str] = Field(description="Its stores (none: estate-wide).")
    opened_at: datetime = Field(description="Event time of its first alert.")
    updated_at: datetime = Field(description="Event time of its newest evidence.")
    assignee: str | None = Field(description="Who owns it.")
    verdict: str | None = Field(description="true_positive, false_positive or benign.")


class IncidentSummaryRead(IncidentBase):
    alerts: int = Field(description="Distinct alerts folded in.")

    @classmethod
    def of(cls, item: IncidentSummary) -> IncidentSummaryRead:
        return cls(
            uid=item.uid,
            title=item.title,
            status=item.status.value,
            risk=item.risk,
            risk_level=item.risk_level,
            use_case=item.use_case,
            stores=list(item.stores),
            alerts=item.alerts,
            opened_at=item.opened_at,
            updated_at=item.updated_at,
            assignee=item.assignee,
            verdict=item.verdict,
        )


class IncidentPageRead(Model):
    items: list[IncidentSummaryRead] = Field(description="One page, highest risk first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null: last.")


class RiskPartRead(Model):
    name: str
    value: float = Field(description="0-1.")
    reason: str


class EntityRead(Model):
    kind: str
    value: str
    role: str = Field(description="link (folds alerts together) or context.")


class AlertRead(Model):
    uid: str
    rule_uid: str
    title: str
    severity: str = Field(description="informational, low, medium, high or critical.")
    time: datetime
    explanation: str


class TimelineEntryRead(Model):
    time: datetime
    kind: str = Field(description="alert, event, note or more.")
    source: str = Field(description="Event class, rule id, or `incident`.")
    summary: str

    @classmethod
    def of(cls, entry: TimelineEntry) -> TimelineEntryRead:
        return cls(
            time=entry.time, kind=entry.kind.value, source=entry.source, summary=entry.summary
        )


class NodeRead(Model):
    id: str
    kind: str
    label: str


class EdgeRead(Model):
    source: str
    target: str
    label: str


class GraphRead(Model):
    nodes: list[NodeRead]
    edges: list[EdgeRead]


class EvidenceRead(Model):
    alert_uid: str
    rows: list[dict[str, object]] = Field(
        description="The rows that show it, as the finding kept them."
    )


class CommentRead(Model):
    author: str
    at: datetime
    text: str

    @classmethod
    def of(cls, comment: Comment) -> CommentRead:
        return cls(author=comment.author, at=comment.at, text=comment.text)


class VideoRead(Model):
    store: str
    camera: str
    time: datetime
    activity: str | None = Field(description="What the video analytics saw, e.g. Loitering.")
    zone: str | None = Field(description="The zone or line of the camera's view involved.")
    snapshot_uri: str | None = Field(description="Snapshot kept at the store, if any.")
    clip_uri: str | None = Field(description="Clip kept at the store, if any.")
    snapshot_url: str | None = Field(
        description="The blurred snapshot through the console's API, when it can serve it."
    )

    @classmethod
    def of(cls, video: VideoRef) -> VideoRead:
        return cls(
            store=video.store,
            camera=video.camera,
            time=video.time,
            activity=video.activity,
            zone=video.zone,
            snapshot_uri=video.snapshot_uri,
            clip_uri=video.clip_uri,
            snapshot_url=video.snapshot_path,
        )


class IncidentDetailRead(IncidentBase):
    explanation: str = Field(description="Why the risk is what it is, in a sentence.")
    risk_parts: list[RiskPartRead]
    entities: list[EntityRead]
    alerts: list[AlertRead] = Field(description="Its distinct alerts, oldest first.")
    timeline: list[TimelineEntryRead] = Field(description="Alerts, notes and related events.")
    graph: GraphRead = Field(description="Entities, their stores and alerts, and how they relate.")
    evidence: list[EvidenceRead]
    runs: list[RunRead] = Field(description="Playbook runs on it, with their steps.")
    approvals: list[ApprovalRead] = Field(description="Approval requests of its runs.")
    comments: list[CommentRead]
    video: list[VideoRead] = Field(
        description="Video observations of its stores (in scope) and hours, snapshots first."
    )

    @classmethod
    def of(cls, detail: IncidentDetail) -> IncidentDetailRead:
        base = IncidentSummaryRead.of(detail.summary).model_dump(exclude={"alerts"})
        incident = detail.incident
        graph = detail.timeline.graph
        return cls(
            **base,
            explanation=incident.risk.explanation,
            risk_parts=[
                RiskPartRead(name=p.name, value=p.value, reason=p.reason)
                for p in incident.risk.parts
            ],
            entities=[
                EntityRead(kind=e.kind, value=e.value, role=e.role.value) for e in incident.entities
            ],
            alerts=[
                AlertRead(
                    uid=a.uid,
                    rule_uid=a.rule_uid,
                    title=a.title,
                    severity=_severity(a.severity),
                    time=a.time,
                    explanation=a.explanation,
                )
                for a in incident.alerts
            ],
            timeline=[TimelineEntryRead.of(entry) for entry in detail.timeline.entries],
            graph=GraphRead(
                nodes=[NodeRead(id=n.id, kind=n.kind, label=n.label) for n in graph.nodes],
                edges=[
                    EdgeRead(source=e.source, target=e.target, label=e.relation)
                    for e in graph.edges
                ],
            ),
            evidence=[
                EvidenceRead(alert_uid=e.alert_uid, rows=[dict(row) for row in e.rows])
                for e in detail.evidence
            ],
            runs=[RunRead.of(item.run, list(item.steps)) for item in detail.runs],
            approvals=[ApprovalRead.of(request) for request in detail.approvals],
            comments=[CommentRead.of(comment) for comment in detail.comments],
            video=[VideoRead.of(video) for video in detail.video],
        )


def _severity(value: int) -> str:
    try:
        return Severity(value).name.lower()
    except ValueError:
        return "unknown"


class VerdictCreate(Model):
    verdict: Verdict = Field(description="true_positive, false_positive or benign.")
    note: str = Field(default="", max_length=5000, description="Why (kept as a comment).")


class AssignCreate(Model):
    assignee: str | None = Field(description="A console user who can see it; null: nobody.")


class CommentCreate(Model):
    text: str = Field(min_length=1, max_length=5000, description="The comment.")


class BulkCreate(Model):
    uids: list[str] = Field(min_length=1, max_length=500, description="Incidents to change.")
    action: BulkAction = Field(description="assign, status or verdict.")
    value: str = Field(description="The assignee, status or verdict.")


class BulkRead(Model):
    items: list[IncidentSummaryRead] = Field(description="The incidents as they are now.")


class RespondCreate(Model):
    dry_run: bool = Field(default=False, description="Only say what would happen.")


class RespondRead(Model):
    runs: list[RunRead] | None = Field(default=None, description="Runs started (not a dry run).")
    plans: list[PlanRead] | None = Field(default=None, description="What would happen (dry run).")
