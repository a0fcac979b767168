"""YAML files of rules and playbooks: each document with its line, each problem at `file:line`.

The loaders that read such files (`vigil.detect.loader`,
`vigil.respond.playbooks.loader`; the estate loader uses `line_of`) share the reading and the error locating;
each passes its own error class, built as `error(message, file, line)`:

    text, documents = read_documents(path, RuleError)  # raises RuleError
    for line, document in documents: ...
"""

from __future__ import annotations

import io
from collections.abc import Callable, Container, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

E = TypeVar("E", bound=Exception)
ErrorAt = Callable[[str, str, int | None], E]
"""Builds a loader's error from a message, the file and the 1-based line (if known)."""
YamlPath = tuple[str | int, ...]


def line_of(tree: Any, path: tuple[str | int, ...]) -> int | None:
    """1-based line of the deepest node of `path` that exists in the YAML tree."""
    line: int | None = None
    node = tree
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            line = node.lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            line = node.lc.item(key)[0] + 1
            node = node[key]
        else:
            break
    return line


def yaml_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, and the `.yaml`/`.yml` files under the folders named, in order."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in {".yaml", ".yml"}))
        else:
            found.append(path)
    return found


def parse_documents(text: str, name: str, error: ErrorAt[E]) -> list[tuple[int, Any]]:
    """(first line, round-trip document) for each YAML document (`---`) of `text`."""
    yaml = YAML(typ="rt")
    documents = []
    try:
        for document in yaml.load_all(io.StringIO(text)):
            line = document.lc.line + 1 if isinstance(document, CommentedMap) else 1
            documents.append((line, document))
    except MarkedYAMLError as cause:
        mark = cause.problem_mark
        raise error(
            f"malformed YAML: {cause.problem}", name, None if mark is None else mark.line + 1
        ) from cause
    except YAMLError as cause:
        raise error(f"malformed YAML: {cause}", name, None) from cause
    return documents


def read_documents(path: Path, error: ErrorAt[E]) -> tuple[str, list[tuple[int, Any]]]:
    """The text of `path` and its documents; `error` if it cannot be read or is not YAML."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as cause:
        raise error(f"cannot read: {cause}", name, None) from cause
    return text, parse_documents(text, name, error)


def validation_errors(
    failure: ValidationError,
    document: Any,
    name: str,
    line: int,
    error: ErrorAt[E],
    skip: Container[object] = (),
) -> list[E]:
    """Each problem pydantic found in `document`, at the line of the field it names.

    The field's path is dotted before the message (`steps.2.action: ...`), with
    the parts in `skip` (a union's tags) left out; a forbidden extra field reads
    `unknown field`. A field the YAML does not hold falls back to `line`.
    """
    errors = []
    for item in failure.errors():
        path: YamlPath = tuple(
            part for part in item["loc"] if isinstance(part, str | int) and part not in skip
        )
        message = "unknown field" if item["type"] == "extra_forbidden" else item["msg"]
        where = ".".join(str(part) for part in path)
        errors.append(
            error(
                f"{where}: {message}" if where else message, name, line_of(document, path) or line
            )
        )
    return errors


def duplicate_errors(kind: str, ids: Iterable[tuple[str, str]], error: ErrorAt[E]) -> list[E]:
    """An error at each (id, `file:line` origin) whose id an earlier one already used."""
    errors = []
    seen: dict[str, str] = {}
    for uid, origin in ids:
        if uid in seen:
            file, _, line = origin.rpartition(":")
            errors.append(
                error(
                    f"{kind} id {uid!r} is also used at {seen[uid]}",
                    file,
                    int(line) if line.isdigit() else None,
                )
            )
        seen.setdefault(uid, origin)
    return errors
