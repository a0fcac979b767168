"""The rules in force: the shipped pack with the console's overrides applied.

`active_rules(database)` is what a live engine should load at start: edited
rules replace the pack's, disabled ones are left out.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from sqlalchemy import select

from vigil.console.detections.types import Problem
from vigil.detect.loader import lint_rules, load_pack, load_rules
from vigil.detect.rules import Rule
from vigil.store.database import Database
from vigil.store.models import DetectionOverride

EDITED = "console"


@cache
def _pack() -> tuple[Rule, ...]:
    """The shipped pack, loaded once per process (only its metadata is read from these)."""
    return tuple(load_pack())


def pack_rules() -> tuple[Rule, ...]:
    return _pack()


def overrides(database: Database) -> dict[str, DetectionOverride]:
    with database.session() as session:
        return {row.rule_uid: row for row in session.scalars(select(DetectionOverride))}


def lint_text(text: str) -> tuple[list[Rule], list[Problem]]:
    """Lint YAML rule text as `vigil detect lint` would a file; every problem with its line."""
    with tempfile.TemporaryDirectory(prefix="vigil-lint-") as folder:
        path = Path(folder) / "rule.yaml"
        path.write_text(text, encoding="utf-8")
        rules, errors = lint_rules([path])
    return rules, [Problem(error.line, error.message) for error in errors]


def fresh_rule(uid: str, database: Database) -> Rule | None:
    """A new instance (fresh state) of a rule in force, edited or shipped; None if unknown."""
    override = overrides(database).get(uid)
    if override is not None and override.yaml:
        rules, _ = lint_text(override.yaml)
        return next((rule for rule in rules if rule.meta.uid == uid), None)
    shipped = next((rule for rule in pack_rules() if rule.meta.uid == uid), None)
    if shipped is None:
        return None
    path = Path(shipped.origin.rpartition(":")[0])
    return next((rule for rule in load_rules([path]) if rule.meta.uid == uid), None)


def active_rules(database: Database) -> list[Rule]:
    """The pack as the console left it: edited rules swapped in, disabled rules left out."""
    changed = overrides(database)
    active = []
    for rule in load_pack():
        override = changed.get(rule.meta.uid)
        if override is None:
            active.append(rule)
        elif override.enabled:
            edited = fresh_rule(rule.meta.uid, database) if override.yaml else rule
            active.append(edited or rule)
    return active
