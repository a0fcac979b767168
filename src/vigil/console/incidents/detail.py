"""An incident page's content: risk parts, entities, alerts, timeline, graph, evidence, runs,
approvals, comments and video, read through the correlation and response stages.

The timeline reads the lake; a lake that cannot be read leaves the alerts and
notes on it (and says so in the log) rather than failing the whole page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select

from vigil.console.auth.types import Scope
from vigil.console.errors import BadRequestError
from vigil.console.incidents.queries import summaries, visible
from vigil.console.incidents.types import Comment, IncidentSummary
from vigil.console.state import Console
from vigil.console.video.service import incident_video
from vigil.console.video.types import VideoRef
from vigil.correlate import service
from vigil.correlate.codec import utc
from vigil.correlate.errors import TimelineError
from vigil.correlate.timeline import ClassEvents, build_timeline, related_events
from vigil.correlate.types import Incident, Timeline
from vigil.respond.approvals import ApprovalRequest
from vigil.respond.playbooks.runs import RunRecord, StepRecord
from vigil.respond.store import ResponseStore
from vigil.store.errors import StoreError
from vigil.store.models import ConsoleComment

logger = logging.getLogger(__name__)

TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class Evidence:
    """The evidence rows an alert's finding kept."""

    alert_uid: str
    rows: tuple[dict[str, object], ...]


@dataclass(frozen=True)
class RunWithSteps:
    run: RunRecord
    steps: tuple[StepRecord, ...]


@dataclass(frozen=True)
class IncidentDetail:
    summary: IncidentSummary
    incident: Incident
    timeline: Timeline
    evidence: tuple[Evidence, ...]
    runs: tuple[RunWithSteps, ...]
    approvals: tuple[ApprovalRequest, ...]
    comments: tuple[Comment, ...]
    video: tuple[VideoRef, ...]


def incident_detail(console: Console, scope: Scope, uid: str) -> IncidentDetail:
    """Everything the incident page shows, for an incident in scope (404 otherwise)."""
    database = console.database
    with database.session() as session:
        row = visible(session, scope, uid)
        summary = summaries(session, [row])[0]
        comments = tuple(
            Comment(c.author, utc(c.at), c.text)
            for c in session.scalars(
                select(ConsoleComment)
                .where(ConsoleComment.incident_uid == uid)
                .order_by(ConsoleComment.at, ConsoleComment.id)
            )
        )
    incident = service.load(database, [uid])[0]
    events = _related(console, incident)
    store = ResponseStore(database)
    runs = tuple(RunWithSteps(run, tuple(store.steps(run.uid))) for run in store.runs(uid))
    approvals = tuple(request for item in runs for request in store.approvals(run_uid=item.run.uid))
    return IncidentDetail(
        summary=summary,
        incident=incident,
        timeline=build_timeline(incident, events, TIMELINE_LIMIT),
        evidence=_evidence(console, incident),
        runs=runs,
        approvals=approvals,
        comments=comments,
        video=_video(console, scope, incident),
    )


def _related(console: Console, incident: Incident) -> list[ClassEvents]:
    try:
        with console.shared_lake.cursor() as connection:
            return related_events(
                console.lake, incident, limit=TIMELINE_LIMIT, connection=connection
            )
    except (TimelineError, StoreError, BadRequestError) as error:
        logger.warning("timeline of %s without lake events: %s", incident.uid, error)
        return []


def _evidence(console: Console, incident: Incident) -> tuple[Evidence, ...]:
    """Per alert, the rows its stored finding kept (`row 1`, `row 2`, ...)."""
    found = []
    for finding in service.findings(console.database, [alert.uid for alert in incident.alerts]):
        info = finding.get("finding_info")
        uid = info.get("uid") if isinstance(info, dict) else None
        evidences = finding.get("evidences")
        if not isinstance(uid, str) or not isinstance(evidences, list):
            continue
        rows = tuple(
            dict(item["data"])
            for item in evidences
            if isinstance(item, dict)
            and str(item.get("name", "")).startswith("row ")
            and isinstance(item.get("data"), dict)
        )
        found.append(Evidence(uid, rows))
    return tuple(found)


def _video(console: Console, scope: Scope, incident: Incident) -> tuple[VideoRef, ...]:
    try:
        return incident_video(console, scope, incident)
    except (StoreError, BadRequestError, OSError) as error:
        logger.warning("video of %s not linked: %s", incident.uid, error)
        return ()
