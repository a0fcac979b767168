"""Load rules from YAML: native kinds and Sigma rules, every problem as `file:line`.

A file holds one or more YAML documents (`---`). A document with a `kind` is a
native rule (threshold, velocity, distinct, sequence, new_value, match,
baseline, detector); one with `detection` or `correlation` is a Sigma rule.
`lint_rules` reports every broken rule of every file at once; `load_rules`
raises `LintError` with all of them, so a broken rule never half-loads a set.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vigil.detect.explain import check_template
from vigil.detect.rules import Rule, kinds
from vigil.detect.types import LintError, RuleError
from vigil.events.errors import UnknownEventClassError
from vigil.plugins import PluginNotFoundError
from vigil.yamlfiles import (
    duplicate_errors,
    line_of,
    read_documents,
    validation_errors,
    yaml_files,
)

PACK = "pack"
"""Folder of the retail pack inside the package."""


def pack_files() -> list[Path]:
    """The shipped retail pack's rule files, native and Sigma (`pack/sigma/`)."""
    folder = resources.files("vigil.detect").joinpath(PACK)
    with resources.as_file(folder) as path:
        return sorted([*Path(path).glob("*.yaml"), *Path(path).glob("sigma/*.yaml")])


def parse_rule(document: Any, name: str, line: int) -> Rule:
    """One native rule from its YAML document."""
    origin = f"{name}:{line}"
    if not isinstance(document, dict):
        raise RuleError("a rule is a YAML mapping", name, line)
    kind = document.get("kind")
    if not isinstance(kind, str):
        raise RuleError("missing `kind` (threshold, velocity, distinct, ...)", name, line)
    try:
        rule_type = kinds.get(kind)
    except PluginNotFoundError as error:
        raise RuleError(str(error), name, line_of(document, ("kind",)) or line) from None
    try:
        spec = rule_type.spec_type.model_validate(dict(document))
    except ValidationError as error:
        raise validation_errors(error, document, name, line, RuleError)[0] from None
    problems = check_template(spec.explanation)
    if problems:
        raise RuleError(problems[0], name, line_of(document, ("explanation",)) or line)
    try:
        return rule_type(spec, origin)
    except UnknownEventClassError as error:  # a typo in `class:` is a lint error, not a crash
        raise RuleError(str(error), name, line_of(document, ("class",)) or line) from None


def _parse_file(path: Path) -> tuple[list[Rule], list[RuleError]]:
    name = str(path)
    rules: list[Rule] = []
    errors: list[RuleError] = []
    try:
        text, documents = read_documents(path, RuleError)
    except RuleError as error:
        return [], [error]
    if any(_is_sigma(document) for _, document in documents):
        from vigil.detect.rules.sigma import sigma_rules

        try:
            rules.extend(sigma_rules(text, name))
        except RuleError as error:
            errors.append(error)
    for line, document in documents:
        if document is None or _is_sigma(document):
            continue
        try:
            rules.append(parse_rule(document, name, line))
        except RuleError as error:
            errors.append(error)
    return rules, errors


def _is_sigma(document: Any) -> bool:
    return isinstance(document, dict) and ("detection" in document or "correlation" in document)


def lint_rules(paths: Sequence[Path]) -> tuple[list[Rule], list[RuleError]]:
    """Every rule that loads, and every error, across all files; ids must be unique."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    for path in yaml_files(paths):
        found, problems = _parse_file(path)
        rules.extend(found)
        errors.extend(problems)
    ids = ((rule.meta.uid, rule.origin) for rule in rules)
    return rules, errors + duplicate_errors("rule", ids, RuleError)


def load_rules(paths: Sequence[Path]) -> list[Rule]:
    """The rules of these files and folders; `LintError` listing every problem if any."""
    rules, errors = lint_rules(paths)
    if errors:
        raise LintError(errors)
    return rules


def load_pack() -> list[Rule]:
    """The shipped retail pack, fresh state."""
    return load_rules(pack_files())
