"""Load playbooks from YAML, every problem as `file:line`, all of them at once.

A file holds one or more playbooks (YAML documents separated by `---`).
`lint_playbooks` reports every problem of every file: malformed YAML, unknown
fields, unknown actions or parameters, placeholders that name nothing, steps
that go nowhere, cycles, unreachable steps, duplicate ids. `load_playbooks`
raises `PlaybookLintError` with all of them, so a broken playbook never
half-loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vigil.respond.playbooks.errors import PlaybookError, PlaybookLintError
from vigil.respond.playbooks.graph import graph_problems
from vigil.respond.playbooks.params import step_problems
from vigil.respond.playbooks.types import STEP_TAGS, ActionStep, Playbook
from vigil.yamlfiles import (
    YamlPath,
    duplicate_errors,
    line_of,
    read_documents,
    validation_errors,
    yaml_files,
)

PACK = "pack"
"""Folder of the shipped playbooks inside `vigil.respond`."""


def pack_files() -> list[Path]:
    """The shipped playbooks, one file per main incident type."""
    folder = resources.files("vigil.respond").joinpath(PACK)
    with resources.as_file(folder) as path:
        return sorted(Path(path).glob("*.yaml"))


def parse_playbook(
    document: Any, name: str, line: int
) -> tuple[Playbook | None, list[PlaybookError]]:
    """One playbook from its YAML document, or every problem it has."""
    if not isinstance(document, dict):
        return None, [PlaybookError("a playbook is a YAML mapping", name, line)]
    try:
        playbook = Playbook.model_validate({**document, "origin": f"{name}:{line}"})
    except ValidationError as error:
        return None, validation_errors(error, document, name, line, PlaybookError, STEP_TAGS)
    found: list[tuple[YamlPath, str]] = []
    if not playbook.trigger.use_cases and not playbook.trigger.rules:
        found.append((("trigger",), "the trigger needs use_cases or rules"))
    for index, step in enumerate(playbook.steps):
        if isinstance(step, ActionStep):
            found.extend((("steps", index, *path), text) for path, text in step_problems(step))
    found.extend(graph_problems(playbook))
    errors = [PlaybookError(text, name, line_of(document, path) or line) for path, text in found]
    return (None, errors) if errors else (playbook, [])


def _parse_file(path: Path) -> tuple[list[Playbook], list[PlaybookError]]:
    name = str(path)
    try:
        _, documents = read_documents(path, PlaybookError)
    except PlaybookError as error:
        return [], [error]
    playbooks: list[Playbook] = []
    errors: list[PlaybookError] = []
    for line, document in documents:
        if document is None:
            continue
        playbook, problems = parse_playbook(document, name, line)
        errors.extend(problems)
        if playbook is not None:
            playbooks.append(playbook)
    return playbooks, errors


def lint_playbooks(paths: Sequence[Path]) -> tuple[list[Playbook], list[PlaybookError]]:
    """Every playbook that loads, and every problem, across all files; ids must be unique."""
    playbooks: list[Playbook] = []
    errors: list[PlaybookError] = []
    for path in yaml_files(paths):
        found, problems = _parse_file(path)
        playbooks.extend(found)
        errors.extend(problems)
    ids = ((playbook.id, playbook.origin) for playbook in playbooks)
    return playbooks, errors + duplicate_errors("playbook", ids, PlaybookError)


def load_playbooks(paths: Sequence[Path]) -> list[Playbook]:
    """The playbooks of these files and folders; `PlaybookLintError` listing every problem."""
    playbooks, errors = lint_playbooks(paths)
    if errors:
        raise PlaybookLintError(errors)
    return playbooks


def load_pack() -> list[Playbook]:
    return load_playbooks(pack_files())
