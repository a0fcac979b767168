"""Load Sigma YAML files into compiled `SigmaDetection`s and `SigmaCorrelation`s.

pySigma parses each YAML document (with its `file:line` as source), Vigil's pipeline maps
the fields, and `compile` turns the detection into one polars expression for the rule's
event class. Every broken rule becomes a `RuleError` at `path:line` of its document;
`lint_sigma` collects them all for a folder at once.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from sigma.collection import SigmaCollection, deep_dict_update
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.filters import SigmaFilter
from sigma.rule import SigmaDetection as PySigmaDetection
from sigma.rule import SigmaRule
from sigma.rule.base import SigmaRuleBase, SigmaYAMLLoader
from sigma.types import SigmaFieldReference

from vigil.detect.sigma.compile import KEYWORD_COLUMNS, compile_rule, resolve
from vigil.detect.sigma.correlation import build_correlation
from vigil.detect.sigma.matchers import SigmaCompileError
from vigil.detect.sigma.pipeline import logsource_spec, vigil_pipeline
from vigil.detect.sigma.types import SigmaCorrelation, SigmaDetection
from vigil.detect.types import RuleError, RuleMeta, Severity
from vigil.events.columns import polars_schema
from vigil.events.registry import event_class

SigmaItem = SigmaDetection | SigmaCorrelation
_TECHNIQUE = re.compile(r"t\d{4}(\.\d{3})?")


@cache
def class_schema(name: str) -> pl.Schema:
    """The polars schema of an event class's frames (`process_activity`)."""
    return polars_schema(event_class(name))


def _message(error: Exception) -> str:
    """pySigma's message without the ` in /abs/path` it appends."""
    return str(error.args[0]) if error.args else str(error)


def documents(text: str, path: str) -> list[tuple[int, Any]]:
    """Each YAML document of a file with the line it starts on."""
    loader = SigmaYAMLLoader(text)
    found: list[tuple[int, Any]] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                found.append((node.start_mark.line + 1, loader.construct_document(node)))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        line = mark.line + 1 if mark is not None else (found[-1][0] if found else 1)
        raise RuleError(f"invalid YAML: {error}".splitlines()[0], path, line) from error
    finally:
        loader.dispose()
    return found


@dataclass
class _Parsed:
    """A file's documents parsed by pySigma, before mapping and compiling."""

    rules: list[tuple[int, SigmaRule | SigmaCorrelationRule]] = field(default_factory=list)
    filters: list[SigmaFilter] = field(default_factory=list)
    errors: list[RuleError] = field(default_factory=list)


def _parse(text: str, path: str) -> _Parsed:
    parsed = _Parsed()
    try:
        docs = documents(text, path)
    except RuleError as error:
        parsed.errors.append(error)
        return parsed
    template: dict[str, Any] = {}
    previous: dict[str, Any] = {}
    for line, raw in docs:
        if raw is None:
            continue
        if not isinstance(raw, dict):
            parsed.errors.append(RuleError("a Sigma rule must be a YAML map", path, line))
            continue
        action = raw.get("action")
        doc: dict[str, Any] = raw
        if action == "global":
            template = {k: v for k, v in raw.items() if k != "action"}
            continue
        if action == "reset":
            template = {}
            continue
        if action == "repeat":
            doc = deep_dict_update(copy.deepcopy(previous), raw)
            doc.pop("action", None)
        elif action is not None:
            parsed.errors.append(RuleError(f"unknown collection action {action!r}", path, line))
            continue
        elif "correlation" not in doc and "filter" not in doc:
            doc = deep_dict_update(raw, copy.deepcopy(template))
            previous = doc
        _parse_one(doc, path, line, parsed)
    return parsed


def _parse_one(doc: dict[str, Any], path: str, line: int, parsed: _Parsed) -> None:
    source = SigmaRuleLocation(Path(path), line)
    rule: SigmaRuleBase
    try:
        if "correlation" in doc:
            rule = SigmaCorrelationRule.from_dict(doc, collect_errors=True, source=source)
        elif "filter" in doc:
            rule = SigmaFilter.from_dict(doc, collect_errors=True, source=source)
        else:
            rule = SigmaRule.from_dict(doc, collect_errors=True, source=source)
    except SigmaError as error:
        parsed.errors.append(RuleError(_message(error), path, line))
        return
    if rule.errors:
        parsed.errors.extend(RuleError(_message(error), path, line) for error in rule.errors)
    elif isinstance(rule, SigmaFilter):
        parsed.filters.append(rule)
    elif isinstance(rule, (SigmaRule, SigmaCorrelationRule)):
        parsed.rules.append((line, rule))


def rule_meta(rule: SigmaRuleBase, origin: str) -> RuleMeta:
    """Sigma metadata as Vigil's: uid, severity from level, ATT&CK ids from `attack.tNNNN` tags."""
    if rule.id is not None:
        uid = str(rule.id)
    else:
        uid = "sigma." + (rule.name or re.sub(r"[^a-z0-9]+", "_", rule.title.lower()).strip("_"))
    attack = [str(t.name).upper() for t in rule.tags if t.namespace == "attack"]
    techniques = tuple(name for name in attack if _TECHNIQUE.fullmatch(name.lower()))
    pci = tuple(t.name for t in rule.tags if t.namespace == "pci")
    others = tuple(
        str(t) for t in rule.tags if not (t.namespace == "attack" and t.name.upper() in techniques)
    )
    custom = rule.custom_attributes
    return RuleMeta(
        uid=uid,
        title=rule.title,
        severity=Severity[rule.level.name] if rule.level is not None else Severity.MEDIUM,
        confidence=int(custom.get("confidence", 50)),
        explanation=str(custom.get("explanation", rule.title)),
        use_case=str(custom.get("use_case", "sigma")),
        attack=techniques,
        pci=pci,
        description=rule.description or "",
        tags=others,
        origin=origin,
    )


def _fields(detection: PySigmaDetection) -> Iterable[str]:
    for item in detection.detection_items:
        if isinstance(item, PySigmaDetection):
            yield from _fields(item)
            continue
        if item.field is not None:
            yield item.field
        yield from (v.field for v in item.value if isinstance(v, SigmaFieldReference))


def _warnings(rule: SigmaRule, event_class: str, schema: pl.Schema) -> tuple[str, ...]:
    names = {name for d in rule.detection.detections.values() for name in _fields(d)}
    return tuple(
        f"field {name!r} is no column of {event_class} and never matches"
        for name in sorted(names)
        if resolve(name, schema) is None
    )


def _compile(
    line: int, rule: SigmaRule, path: str, keyword_columns: Sequence[str], alerting: bool
) -> SigmaDetection:
    spec = logsource_spec(rule)
    if spec is None:
        source = rule.logsource
        where = "/".join(str(p) for p in (source.category, source.product, source.service) if p)
        raise RuleError(f"log source {where or '(none)'} has no Vigil event class", path, line)
    try:
        vigil_pipeline().apply(rule)
        schema = class_schema(spec.event_class)
        expr = compile_rule(rule, schema, keyword_columns)
    except (SigmaError, SigmaCompileError) as error:
        raise RuleError(_message(error), path, line) from error
    return SigmaDetection(
        rule=rule,
        event_class=spec.event_class,
        expr=expr,
        meta=rule_meta(rule, f"{path}:{line}"),
        line=line,
        falsepositives=tuple(str(item) for item in rule.falsepositives),
        warnings=_warnings(rule, spec.event_class, schema),
        alerting=alerting,
        logsource=spec.name,
    )


def _resolve(parsed: _Parsed, path: str) -> tuple[set[int], list[RuleError]]:
    """Link correlations to their rules; the ids of rules that must not alert on their own."""
    rules = [rule for _, rule in parsed.rules]
    collection = SigmaCollection(init_rules=list(rules), resolve_references=False)
    silent: set[int] = set()
    errors: list[RuleError] = []
    for line, rule in parsed.rules:
        if not isinstance(rule, SigmaCorrelationRule):
            continue
        try:
            rule.resolve_rule_references(collection)
        except SigmaError as error:
            errors.append(RuleError(_message(error), path, line))
            rule.referenced_rules = []
            continue
        if not rule.generate:
            silent.update(id(ref.rule) for ref in rule.referenced_rules)
    return silent, errors


def load_all(
    text: str, path: str, keyword_columns: Sequence[str] = KEYWORD_COLUMNS
) -> tuple[list[SigmaItem], list[RuleError]]:
    """Every rule of a file that loads, and an error for every one that does not."""
    parsed = _parse(text, path)
    for sigma_filter in parsed.filters:
        parsed.rules = [
            (line, sigma_filter.apply_on_rule(rule) if isinstance(rule, SigmaRule) else rule)
            for line, rule in parsed.rules
        ]
    silent, errors = _resolve(parsed, path)
    errors = parsed.errors + errors
    loaded: list[SigmaItem] = []
    compiled: dict[int, SigmaDetection] = {}
    for line, rule in parsed.rules:
        if isinstance(rule, SigmaRule):
            try:
                detection = _compile(line, rule, path, keyword_columns, id(rule) not in silent)
            except RuleError as error:
                errors.append(error)
                continue
            compiled[id(rule)] = detection
            loaded.append(detection)
    for line, rule in parsed.rules:
        if isinstance(rule, SigmaCorrelationRule) and rule.referenced_rules:
            try:
                loaded.append(_correlation(rule, compiled, path, line))
            except RuleError as error:
                errors.append(error)
    errors.sort(key=lambda error: error.line or 0)
    return loaded, errors


def _correlation(
    rule: SigmaCorrelationRule, compiled: dict[int, SigmaDetection], path: str, line: int
) -> SigmaCorrelation:
    referenced = [compiled.get(id(ref.rule)) for ref in rule.referenced_rules]
    rules = [detection for detection in referenced if detection is not None]
    if len(rules) < len(referenced):
        raise RuleError("a referenced rule is a correlation or did not load", path, line)
    try:
        return build_correlation(rule, rules, rule_meta(rule, f"{path}:{line}"), line)
    except (SigmaError, SigmaCompileError) as error:
        raise RuleError(_message(error), path, line) from error


def load_sigma(
    text: str, path: str, keyword_columns: Sequence[str] = KEYWORD_COLUMNS
) -> list[SigmaItem]:
    """The rules and correlations of one Sigma file; the first broken rule raises RuleError."""
    loaded, errors = load_all(text, path, keyword_columns)
    if errors:
        raise errors[0]
    return loaded


def lint_sigma(paths: Iterable[str | Path], *, warnings: bool = False) -> list[RuleError]:
    """Every broken rule under these files and folders (`*.yml`, `*.yaml`) at once.

    With `warnings`, fields that are no column of the rule's event class are reported too.
    """
    found: list[RuleError] = []
    for path in _files(paths):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            found.append(RuleError(f"cannot read: {error}", str(path)))
            continue
        loaded, errors = load_all(text, str(path))
        found.extend(errors)
        if warnings:
            found.extend(
                RuleError(f"warning: {message}", str(path), item.line)
                for item in loaded
                if isinstance(item, SigmaDetection)
                for message in item.warnings
            )
    return found


def _files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            files.extend(sorted(p for p in entry.rglob("*") if p.suffix in {".yml", ".yaml"}))
        else:
            files.append(entry)
    return files
