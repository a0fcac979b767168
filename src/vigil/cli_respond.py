"""`vigil respond ...`: playbooks, runs (and dry runs), approvals, response modes, metrics.

The adapters come from `respond.yaml` in the data folder (secrets from the
environment); `BACKENDS` builds them and is the one seam tests replace.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vigil.cli_support import estate_of, fail, open_database, out, settings_of
from vigil.correlate import service
from vigil.correlate.errors import CorrelateError
from vigil.estate import Estate
from vigil.respond.adapters.config import build_backends
from vigil.respond.approvals import ApprovalRequest, ApprovalStatus, Vote
from vigil.respond.backends import Backends
from vigil.respond.build import build_responder
from vigil.respond.errors import RespondError
from vigil.respond.metrics import as_record, report
from vigil.respond.modes import ResponseMode, scope_of, store_mode
from vigil.respond.playbooks import ActionStep, lint_playbooks, load_playbooks
from vigil.respond.playbooks.engine import Responder
from vigil.respond.playbooks.runs import RunRecord
from vigil.respond.playbooks.runtime import utc_now
from vigil.respond.playbooks.vocab import describe
from vigil.respond.settings import ResponseSettings, load_response_settings
from vigil.respond.store import ResponseStore
from vigil.respond.words import plan_lines, run_lines
from vigil.store.database import Database

app = typer.Typer(
    help="Response: playbooks, runs, approvals, modes, metrics.", no_args_is_help=True
)
playbooks_app = typer.Typer(help="Playbooks: lint and list.", no_args_is_help=True)
approvals_app = typer.Typer(help="Approval requests.", no_args_is_help=True)
mode_app = typer.Typer(help="Response modes per store and region.", no_args_is_help=True)
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(approvals_app, name="approvals")
app.add_typer(mode_app, name="mode")

DataDir = Annotated[
    Path, typer.Option("--data", "-d", help="Data folder.", envvar="VIGIL_DATA", show_default=True)
]
Actor = Annotated[str | None, typer.Option(help="Who acts (default: the OS user).")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why, for the audit trail.")]
Source = Annotated[
    str | None, typer.Option(help="From where (default: cli USER@HOST), for the audit trail.")
]


def make_backends(settings: ResponseSettings) -> Backends:
    return build_backends(settings.backends, os.environ)


BACKENDS: Callable[[ResponseSettings], Backends] = make_backends
"""Builds the adapters of a run; tests put a recording backend here."""
CLOCK: Callable[[], datetime] = utc_now
"""The engine's clock; tests set the time here."""


@dataclass
class Context:
    database: Database
    settings: ResponseSettings
    estate: Estate | None
    data: Path

    @property
    def store(self) -> ResponseStore:
        return ResponseStore(self.database)

    def responder(self) -> Responder:
        try:
            backends = BACKENDS(self.settings)
            return build_responder(
                self.database, self.settings, self.data, self.estate, backends, clock=CLOCK
            )
        except RespondError as error:
            raise fail(str(error)) from error


def live_responder(data: Path, database: Database, estate: Estate | None) -> Responder:
    """The responder `vigil ingest serve` starts playbooks with (adapters from respond.yaml)."""
    try:
        settings = load_response_settings(data)
    except RespondError as error:
        raise fail(str(error)) from error
    return Context(database, settings, estate, data).responder()


@contextmanager
def _context(data: Path) -> Iterator[Context]:
    settings = settings_of(data)
    try:
        respond = load_response_settings(data)
    except RespondError as error:
        raise fail(str(error)) from error
    estate = estate_of(settings.estate_path) if settings.estate_path.exists() else None
    database = open_database(settings)
    try:
        yield Context(database, respond, estate, data)
    except (RespondError, CorrelateError) as error:
        raise fail(str(error)) from error
    finally:
        database.close()


def _who(actor: str | None) -> str:
    return actor or getpass.getuser()


def _source(source: str | None) -> str:
    return source or f"cli {getpass.getuser()}@{socket.gethostname()}"


# --- playbooks ----------------------------------------------------------------------------


@playbooks_app.command("lint")
def lint(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Files or folders (default: the pack and yours).")
    ] = None,
    data: DataDir = Path("vigil-data"),
) -> None:
    """Check playbooks; every problem as file:line, all at once."""
    if not paths:
        try:
            paths = load_response_settings(data).playbook_paths(data)
        except RespondError as error:
            raise fail(str(error)) from error
    playbooks, problems = lint_playbooks(paths)
    for problem in problems:
        out.print(str(problem), highlight=False, soft_wrap=True)
    if problems:
        raise fail(f"{len(problems)} problem(s); {len(playbooks)} playbook(s) load cleanly")
    out.print(f"{len(playbooks)} playbook(s), no problems")


@playbooks_app.command("list")
def list_playbooks(data: DataDir = Path("vigil-data")) -> None:
    """The loaded playbooks: what triggers them and what they do."""
    try:
        playbooks = load_playbooks(load_response_settings(data).playbook_paths(data))
    except RespondError as error:
        raise fail(str(error)) from error
    table = Table("playbook", "title", "trigger", "steps")
    for playbook in sorted(playbooks, key=lambda p: p.id):
        trigger = ", ".join([*playbook.trigger.use_cases, *playbook.trigger.rules])
        if playbook.trigger.min_severity is not None:
            trigger += f" (>= {playbook.trigger.min_severity})"
        steps = " -> ".join(
            f"{s.id}:{s.action}" if isinstance(s, ActionStep) else f"{s.id}:branch"
            for s in playbook.steps
        )
        table.add_row(playbook.id, playbook.title, trigger, steps)
    out.print(table)


# --- runs ---------------------------------------------------------------------------------


def _say(lines: list[str]) -> None:
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True, markup=False)


def _print_run(context: Context, run: RunRecord) -> None:
    _say(run_lines(run, context.store.steps(run.uid)))


@app.command("run")
def run(
    incident: Annotated[str, typer.Argument(help="Incident uid (or a unique prefix).")],
    data: DataDir = Path("vigil-data"),
    playbook: Annotated[
        str | None, typer.Option(help="Run this playbook (default: every matching one).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would happen; change nothing.")
    ] = False,
    actor: Actor = None,
) -> None:
    """Run the playbooks an incident triggers (or print what they would do)."""
    with _context(data) as context:
        responder = context.responder()
        if dry_run:
            plans = responder.plan(incident, playbook)
            if not plans:
                out.print("no playbook applies to this incident")
            for plan in plans:
                _say(plan_lines(plan))
            return
        runs = responder.start(incident, _who(actor), playbook)
        if not runs:
            out.print("no playbook applies to this incident")
        for record in runs:
            _print_run(context, record)
        for request in context.store.approvals(statuses=[ApprovalStatus.PENDING]):
            if any(request.run_uid == record.uid for record in runs):
                out.print(
                    f"waiting for approval {request.uid}: {request.why}",
                    highlight=False,
                    soft_wrap=True,
                )


@app.command("show")
def show(
    incident: Annotated[str, typer.Argument(help="Incident uid (or a unique prefix).")],
    data: DataDir = Path("vigil-data"),
) -> None:
    """The playbook runs of an incident, step by step, failures included."""
    with _context(data) as context:
        found = service.get(context.database, incident)
        runs = context.store.runs(incident_uid=found.uid)
        if not runs:
            out.print(f"no playbook has run on {found.uid}")
        for record in runs:
            _print_run(context, record)


@app.command("tick")
def tick(data: DataDir = Path("vigil-data")) -> None:
    """Escalate and expire unanswered approvals; resume runs a restart interrupted."""
    with _context(data) as context:
        responder = context.responder()
        resumed = responder.recover()
        report_ = responder.tick()
    out.print(
        f"{len(report_.escalated)} escalated, {len(report_.expired)} expired (fail closed), "
        f"{len(resumed)} run(s) resumed"
    )


# --- approvals ----------------------------------------------------------------------------


@approvals_app.command("list")
def list_approvals(
    data: DataDir = Path("vigil-data"),
    every: Annotated[bool, typer.Option("--all", help="Decided and expired ones too.")] = False,
) -> None:
    """Approval requests, oldest first (pending only unless --all)."""
    with _context(data) as context:
        statuses = None if every else [ApprovalStatus.PENDING]
        requests = context.store.approvals(statuses=statuses)
    table = Table(
        "id",
        "incident",
        "step",
        "action",
        "status",
        "asked by",
        "expires (UTC)",
        "roles",
        "votes",
        "why",
    )
    for request in requests:
        table.add_row(
            request.uid,
            request.incident_uid,
            request.step_id,
            f"{request.action} ({request.risk})",
            request.status.value,
            request.requested_by,
            f"{request.expires_at:%Y-%m-%d %H:%M}",
            ", ".join(request.eligible_roles),
            f"{request.approvals}/{request.quorum}",
            request.why,
        )
    out.print(table)


def _decide(
    data: Path, approval: str, vote: Vote, reason: str, actor: str | None, source: str | None
) -> ApprovalRequest:
    with _context(data) as context:
        responder = context.responder()
        request = responder.decide(approval, _who(actor), vote, reason, _source(source))
        out.print(
            f"approval {request.uid}: {request.status} ({request.approvals}/{request.quorum})"
        )
        _print_run(context, context.store.run(request.run_uid))
        return request


@app.command("approve")
def approve(
    approval: Annotated[str, typer.Argument(help="Approval id (or a unique prefix).")],
    reason: Reason,
    data: DataDir = Path("vigil-data"),
    actor: Actor = None,
    source: Source = None,
) -> None:
    """Approve a waiting step; once the quorum is reached it runs."""
    _decide(data, approval, Vote.APPROVE, reason, actor, source)


@app.command("reject")
def reject(
    approval: Annotated[str, typer.Argument(help="Approval id (or a unique prefix).")],
    reason: Reason,
    data: DataDir = Path("vigil-data"),
    actor: Actor = None,
    source: Source = None,
) -> None:
    """Reject a waiting step: it does not run."""
    _decide(data, approval, Vote.REJECT, reason, actor, source)


# --- modes --------------------------------------------------------------------------------


@mode_app.command("set")
def set_mode(
    scope: Annotated[str, typer.Argument(help="Store uid, region uid, or `default`.")],
    mode: Annotated[ResponseMode, typer.Argument(help="detect_only, assisted or autonomous.")],
    data: DataDir = Path("vigil-data"),
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why, for the audit trail.")] = "",
    actor: Actor = None,
) -> None:
    """Set the response mode of a store, a region or the default."""
    with _context(data) as context:
        key = scope_of(scope, context.estate)
        who = _who(actor)
        previous = context.store.set_mode(key, mode, who, CLOCK(), reason)
        was = previous.value if previous else None
        detail: dict[str, object] = {"mode": mode.value, "previous": was, "reason": reason}
        context.database.audit(who, "respond.mode.set", key, detail)
    out.print(f"{key}: {previous or 'unset'} -> {mode}")


@mode_app.command("list")
def list_modes(data: DataDir = Path("vigil-data")) -> None:
    """Each store's effective mode and where it comes from."""
    with _context(data) as context:
        if context.estate is None:
            raise fail("no estate: modes are per store and region")
        overrides = context.store.modes()
        table = Table("store", "region", "mode", "from")
        for region in context.estate.regions:
            for store in region.stores:
                decision = store_mode(store.uid, context.estate, context.settings.modes, overrides)
                table.add_row(store.uid, region.uid, decision.mode.value, decision.why)
    out.print(table)


# --- metrics ------------------------------------------------------------------------------


def _span(value: timedelta | None) -> str:
    return "-" if value is None else describe(value)


@app.command("metrics")
def metrics(
    data: DataDir = Path("vigil-data"),
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (seconds).")] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most incidents to read.")] = 10_000,
) -> None:
    """Time to detect, acknowledge and contain, and dwell time: per incident and aggregated."""
    with _context(data) as context:
        result = report(service.list_incidents(context.database, limit=limit))
    if as_json:
        out.print_json(json.dumps(as_record(result), indent=2))
        return
    table = Table("incident", "use case", "status", "detect", "acknowledge", "contain", "dwell")
    for m in result.incidents:
        dwell = _span(m.dwell_time) + (" (ongoing)" if m.ongoing else "")
        table.add_row(
            m.uid,
            m.use_case,
            m.status.value,
            _span(m.time_to_detect),
            _span(m.time_to_acknowledge),
            _span(m.time_to_contain),
            dwell,
        )
    out.print(table)
    summary = Table("group", "metric", "n", "mean", "median", "p90", "max")
    for group in (result.overall, *result.by_use_case):
        for s in group.summaries:
            summary.add_row(
                group.group,
                s.metric.value,
                str(s.count),
                _span(s.mean),
                _span(s.median),
                _span(s.p90),
                _span(s.max),
            )
    out.print(summary)
