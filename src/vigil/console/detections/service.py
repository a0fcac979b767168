"""Detections for the console: list with overrides, enable/disable and edit (admins, every
store), lint, and backtests over the lake limited to the caller's stores."""

from __future__ import annotations

import re
from datetime import timedelta

from vigil.console.auth.types import Principal
from vigil.console.detections.rules import EDITED, fresh_rule, lint_text, overrides, pack_rules
from vigil.console.detections.types import Backtest, BacktestAlert, Detection, Problem
from vigil.console.errors import InvalidInputError, NotFoundError
from vigil.console.state import Console
from vigil.detect.engine import Engine
from vigil.detect.rules import Rule
from vigil.eval.replay import replay
from vigil.store.models import DetectionOverride

SPAN = re.compile(r"^(\d{1,4})([hdw])$")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
SHOWN = 500


def _origin(rule: Rule) -> str:
    where = rule.origin.replace("\\", "/")
    marker = where.rfind("/pack/")
    return where[marker + 1 :] if marker >= 0 else where


def _detection(rule: Rule, enabled: bool, origin: str) -> Detection:
    meta = rule.meta
    return Detection(
        uid=meta.uid,
        title=meta.title,
        kind=str(getattr(rule.spec, "kind", type(rule).__name__.lower())),
        severity=meta.severity.name.lower(),
        use_case=meta.use_case,
        enabled=enabled,
        attack=tuple(meta.attack),
        pci=tuple(meta.pci),
        origin=origin,
    )


def detections(console: Console) -> list[Detection]:
    changed = overrides(console.database)
    found = []
    for rule in pack_rules():
        override = changed.get(rule.meta.uid)
        enabled = rule.meta.enabled if override is None else override.enabled
        shown, origin = rule, _origin(rule)
        if override is not None and override.yaml:
            edited = next(
                (r for r in lint_text(override.yaml)[0] if r.meta.uid == rule.meta.uid), None
            )
            shown, origin = (edited, EDITED) if edited is not None else (rule, origin)
        found.append(_detection(shown, enabled, origin))
    return sorted(found, key=lambda item: (item.use_case, item.uid))


def _known(uid: str) -> Rule:
    rule = next((rule for rule in pack_rules() if rule.meta.uid == uid), None)
    if rule is None:
        raise NotFoundError(f"no rule {uid!r}")
    return rule


def _put(console: Console, uid: str, by: str, enabled: bool | None, yaml: str | None) -> None:
    with console.database.session() as session:
        row = session.get(DetectionOverride, uid)
        if row is None:
            row = DetectionOverride(rule_uid=uid, enabled=_known(uid).meta.enabled, yaml=None)
            session.add(row)
        if enabled is not None:
            row.enabled = enabled
        if yaml is not None:
            row.yaml = yaml
        row.updated_by = by
        row.updated_at = console.now()


def set_enabled(console: Console, principal: Principal, uid: str, enabled: bool) -> Detection:
    _known(uid)
    _put(console, uid, principal.name, enabled, None)
    console.database.audit(principal.name, "detection.enabled", uid, {"enabled": enabled})
    return next(item for item in detections(console) if item.uid == uid)


def edit(console: Console, principal: Principal, uid: str, text: str) -> Detection:
    """Replace a pack rule with an edited copy; it must lint cleanly and keep the rule's id."""
    _known(uid)
    rules, problems = lint_text(text)
    if problems:
        raise InvalidInputError("; ".join(f"line {p.line}: {p.message}" for p in problems))
    if [rule.meta.uid for rule in rules] != [uid]:
        raise InvalidInputError(f"the YAML must hold exactly one rule, with id {uid!r}")
    _put(console, uid, principal.name, None, text)
    console.database.audit(principal.name, "detection.edit", uid, {"chars": len(text)})
    return next(item for item in detections(console) if item.uid == uid)


def lint(text: str) -> list[Problem]:
    return lint_text(text)[1]


def backtest(console: Console, principal: Principal, uid: str, since: str) -> Backtest:
    """The alerts the rule would have raised over the lake since then, in the caller's stores."""
    match = SPAN.match(since)
    if match is None:
        raise InvalidInputError(f"since {since!r}: expected a span like 12h, 30d or 2w")
    start = console.now() - int(match.group(1)) * UNITS[match.group(2)]
    rule = fresh_rule(uid, console.database)
    if rule is None:
        raise NotFoundError(f"no rule {uid!r}")
    result = replay(console.lake, Engine([rule], console.estate), since=start)
    visible = [a for a in result.alerts if principal.scope.covers(a.entities.get("store"))]
    return Backtest(
        count=len(visible),
        events=result.events,
        alerts=tuple(
            BacktestAlert(
                uid=a.uid,
                time=a.time,
                title=a.rule.title,
                severity=a.rule.severity.name.lower(),
                store=a.entities.get("store"),
                explanation=a.explanation,
            )
            for a in visible[:SHOWN]
        ),
    )
