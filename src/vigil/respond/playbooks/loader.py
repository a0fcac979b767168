"""Load playbooks from YAML, every problem as `file:line`, all of them at once.

A file holds one or more playbooks (YAML documents separated by `---`).
`lint_playbooks` reports every problem of every file: malformed YAML, unknown
fields, unknown actions or parameters, placeholders that name nothing, steps
that go nowhere, cycles, unreachable steps, duplicate ids. `load_playbooks`
raises `PlaybookLintError` with all of them, so a broken playbook never
half-loads.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from vigil.estate.loader import line_of
from vigil.respond.playbooks.errors import PlaybookError, PlaybookLintError
from vigil.respond.playbooks.graph import graph_problems
from vigil.respond.playbooks.params import step_problems
from vigil.respond.playbooks.types import STEP_TAGS, ActionStep, Playbook

PACK = "pack"
"""Folder of the shipped playbooks inside `vigil.respond`."""

Path_ = tuple[str | int, ...]


def pack_files() -> list[Path]:
    """The shipped playbooks, one file per main incident type."""
    folder = resources.files("vigil.respond").joinpath(PACK)
    with resources.as_file(folder) as path:
        return sorted(Path(path).glob("*.yaml"))


def playbook_files(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            found.append(path)
    return found


def _documents(text: str, name: str) -> Iterator[tuple[int, Any]]:
    yaml = YAML(typ="rt")
    try:
        for document in yaml.load_all(io.StringIO(text)):
            line = document.lc.line + 1 if isinstance(document, CommentedMap) else 1
            yield line, document
    except MarkedYAMLError as error:
        mark = error.problem_mark
        raise PlaybookError(
            f"malformed YAML: {error.problem}", name, None if mark is None else mark.line + 1
        ) from error
    except YAMLError as error:
        raise PlaybookError(f"malformed YAML: {error}", name) from error


def _loc(item: Any) -> Path_:
    return tuple(
        part for part in item["loc"] if isinstance(part, str | int) and part not in STEP_TAGS
    )


def parse_playbook(
    document: Any, name: str, line: int
) -> tuple[Playbook | None, list[PlaybookError]]:
    """One playbook from its YAML document, or every problem it has."""
    if not isinstance(document, dict):
        return None, [PlaybookError("a playbook is a YAML mapping", name, line)]
    try:
        playbook = Playbook.model_validate({**document, "origin": f"{name}:{line}"})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = _loc(item)
            message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
            where = ".".join(str(part) for part in path)
            problems.append(
                PlaybookError(
                    f"{where}: {message}" if where else message,
                    name,
                    line_of(document, path) or line,
                )
            )
        return None, problems
    found: list[tuple[Path_, str]] = []
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
        documents = list(_documents(path.read_text(encoding="utf-8"), name))
    except (OSError, UnicodeDecodeError) as error:
        return [], [PlaybookError(f"cannot read: {error}", name)]
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
    for path in playbook_files(paths):
        found, problems = _parse_file(path)
        playbooks.extend(found)
        errors.extend(problems)
    seen: dict[str, str] = {}
    for playbook in playbooks:
        if playbook.id in seen:
            file, _, line = playbook.origin.rpartition(":")
            errors.append(
                PlaybookError(
                    f"playbook id {playbook.id!r} is also used at {seen[playbook.id]}",
                    file,
                    int(line) if line.isdigit() else None,
                )
            )
        seen.setdefault(playbook.id, playbook.origin)
    return playbooks, errors


def load_playbooks(paths: Sequence[Path]) -> list[Playbook]:
    """The playbooks of these files and folders; `PlaybookLintError` listing every problem."""
    playbooks, errors = lint_playbooks(paths)
    if errors:
        raise PlaybookLintError(errors)
    return playbooks


def load_pack() -> list[Playbook]:
    return load_playbooks(pack_files())
