"""What people do to incidents: verdicts, assignment, comments, bulk changes, playbooks.

Every change is checked against the caller's scope first (404 outside it),
then made through the correlation and response stages, and written to the
audit log.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from vigil.console.auth.types import Principal, Scope
from vigil.console.errors import ConflictError, InvalidInputError
from vigil.console.incidents.queries import summaries, visible
from vigil.console.incidents.types import BulkAction, Comment, IncidentSummary, Verdict
from vigil.console.state import Console
from vigil.correlate import service
from vigil.correlate.errors import CorrelateError
from vigil.correlate.types import IncidentStatus
from vigil.respond.errors import RespondError
from vigil.respond.playbooks.plan import Plan
from vigil.respond.playbooks.runs import RunRecord
from vigil.store.models import ConsoleComment, ConsoleUser

MAX_COMMENT = 5000
E = TypeVar("E", IncidentStatus, Verdict)


def _check_assignee(console: Console, uid: str, stores: Sequence[str], assignee: str) -> None:
    """An assignee is a console user who can see the incident."""
    with console.database.session() as session:
        user = session.get(ConsoleUser, assignee)
    if user is None or user.disabled:
        raise InvalidInputError(f"no console user {assignee!r}")
    if not Scope.parse(user.scopes, console.estate, strict=False).covers_all(stores):
        raise InvalidInputError(f"{assignee} cannot see incident {uid} (outside their scope)")


def set_verdict(
    console: Console, principal: Principal, uid: str, verdict: Verdict, note: str
) -> IncidentSummary:
    with console.database.session() as session:
        row = visible(session, principal.scope, uid)
        previous, row.verdict = row.verdict, verdict.value
    detail: dict[str, object] = {"from": previous, "to": verdict.value, "note": note}
    console.database.audit(principal.name, "incident.verdict", uid, detail)
    if note.strip():
        add_comment(console, principal, uid, f"Verdict {verdict.value}: {note.strip()}")
    return _summary(console, principal, uid)


def assign(
    console: Console, principal: Principal, uid: str, assignee: str | None
) -> IncidentSummary:
    with console.database.session() as session:
        row = visible(session, principal.scope, uid)
        stores = list(row.stores or ([row.store_uid] if row.store_uid else []))
    if assignee is not None:
        _check_assignee(console, uid, stores, assignee)
    with console.database.session() as session:
        row = visible(session, principal.scope, uid)
        previous, row.assignee = row.assignee, assignee
    console.database.audit(
        principal.name, "incident.assign", uid, {"from": previous, "to": assignee}
    )
    return _summary(console, principal, uid)


def add_comment(console: Console, principal: Principal, uid: str, text: str) -> Comment:
    text = text.strip()
    if not text or len(text) > MAX_COMMENT:
        raise InvalidInputError(f"a comment is 1 to {MAX_COMMENT} characters")
    now = console.now()
    with console.database.session() as session:
        visible(session, principal.scope, uid)
        session.add(ConsoleComment(incident_uid=uid, author=principal.name, at=now, text=text))
    console.database.audit(principal.name, "incident.comment", uid, {"chars": len(text)})
    return Comment(principal.name, now, text)


def set_status(
    console: Console, principal: Principal, uid: str, status: IncidentStatus
) -> IncidentSummary:
    with console.database.session() as session:
        visible(session, principal.scope, uid)
    try:
        service.set_status(console.database, uid, status, principal.name, console.now())
    except CorrelateError as error:
        raise ConflictError(str(error)) from error
    return _summary(console, principal, uid)


def bulk(
    console: Console, principal: Principal, uids: Sequence[str], action: BulkAction, value: str
) -> list[IncidentSummary]:
    """One action on many incidents; all must be in scope and the value valid, or none changes."""
    if not uids:
        raise InvalidInputError("no incidents given")
    with console.database.session() as session:
        for uid in uids:
            visible(session, principal.scope, uid)
    done = []
    if action is BulkAction.STATUS:
        status = _choice(IncidentStatus, value, exclude=IncidentStatus.MERGED.value)
        done = [set_status(console, principal, uid, status) for uid in uids]
    elif action is BulkAction.VERDICT:
        verdict = _choice(Verdict, value)
        done = [set_verdict(console, principal, uid, verdict, "") for uid in uids]
    else:
        done = [assign(console, principal, uid, value or None) for uid in uids]
    return done


def _choice(kind: type[E], value: str, exclude: str = "") -> E:
    allowed = [item.value for item in kind if item.value != exclude]
    if value not in allowed:
        raise InvalidInputError(f"{value!r} is not one of {', '.join(allowed)}")
    return kind(value)


def respond(
    console: Console, principal: Principal, uid: str, dry_run: bool
) -> tuple[list[RunRecord], list[Plan]]:
    """Start the playbooks the incident triggers (or plan them: change nothing)."""
    with console.database.session() as session:
        visible(session, principal.scope, uid)
    try:
        responder = console.responder()
        if dry_run:
            plans = responder.plan(uid)
            detail: dict[str, object] = {"playbooks": [plan.playbook_id for plan in plans]}
            console.database.audit(principal.name, "incident.respond.plan", uid, detail)
            return [], plans
        return responder.start(uid, principal.name), []
    except (RespondError, CorrelateError) as error:
        raise ConflictError(str(error)) from error


def _summary(console: Console, principal: Principal, uid: str) -> IncidentSummary:
    with console.database.session() as session:
        return summaries(session, [visible(session, principal.scope, uid)])[0]
