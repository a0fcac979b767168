"""Playbooks: YAML response procedures, their loader with lint, and the engine that runs them.

    playbooks = load_playbooks([*pack_files(), Path("playbooks")])
    responder = Responder(Runtime(database, backends, policy, modes, estate), playbooks)
    responder.plan(incident_uid)                 # dry run: what would happen, and why
    responder.start(incident_uid, requested_by="ana")

`types` holds the playbook model, `conditions` and `templates` what a step may
test and fill in, `loader` the YAML with `file:line` errors; the engine
(`engine.Responder`, `runtime.Runtime`, `steps`, `plan`) is imported from its
modules, since it builds on `vigil.respond.approvals` and `vigil.respond.modes`,
which build on this package's vocabulary.
"""

from vigil.respond.playbooks.conditions import Condition, Verdict, check
from vigil.respond.playbooks.errors import (
    PlaybookError,
    PlaybookLintError,
    RunError,
    TemplateError,
    UnknownPlaybookError,
    UnknownRunError,
)
from vigil.respond.playbooks.facts import IncidentFacts, Situation
from vigil.respond.playbooks.loader import lint_playbooks, load_pack, load_playbooks, pack_files
from vigil.respond.playbooks.types import ActionStep, BranchStep, Playbook, Trigger

__all__ = [
    "ActionStep",
    "BranchStep",
    "Condition",
    "IncidentFacts",
    "Playbook",
    "PlaybookError",
    "PlaybookLintError",
    "RunError",
    "Situation",
    "TemplateError",
    "Trigger",
    "UnknownPlaybookError",
    "UnknownRunError",
    "Verdict",
    "check",
    "lint_playbooks",
    "load_pack",
    "load_playbooks",
    "pack_files",
]
