"""Load, lint and dump zones files; every problem as `file:line`, all of them at once.

Lint validates the whole file with the model, then runs the cross-field checks
(`checks.CHECKS`), and reports both together in file order.

    zones = load_zones(Path("zones.yaml"))
    text = dump_zones(zones)  # the console edits zones and writes them back
"""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from vigil.video.errors import ZoneConfigError
from vigil.video.zones.checks import CHECKS, YamlPath
from vigil.video.zones.types import ZonesFile
from vigil.yamlfiles import line_of

SAMPLE_ZONES = "sample_zones.yaml"


class ZoneLintError(ZoneConfigError):
    """A zones file with problems; `problems` lists each one as `file:line: message`."""

    def __init__(self, problems: list[ZoneConfigError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, first.file, first.line)

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def _problem(source: str, tree: Any, path: YamlPath, message: str) -> ZoneConfigError:
    where = ".".join(str(part) for part in path)
    text = f"{where}: {message}" if where else message
    return ZoneConfigError(text, source, line_of(tree, path))


def _read_tree(text: str, source: str) -> Any:
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(io.StringIO(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark
        line = None if mark is None else mark.line + 1
        raise ZoneLintError(
            [ZoneConfigError(f"malformed YAML: {error.problem}", source, line)]
        ) from error
    except YAMLError as error:
        raise ZoneLintError([ZoneConfigError(f"malformed YAML: {error}", source)]) from error
    if not isinstance(tree, CommentedMap):
        raise ZoneLintError([ZoneConfigError("a zones file is a YAML mapping", source, 1)])
    return tree


def _model_problems(tree: Any, source: str) -> list[ZoneConfigError]:
    try:
        ZonesFile.model_validate(tree)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = tuple(part for part in item["loc"] if isinstance(part, str | int))
            message = item["msg"].removeprefix("Value error, ")
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append(_problem(source, tree, path, message))
        return problems
    return []


def lint_zones(text: str, source: str = "<zones>") -> list[ZoneConfigError]:
    """Every problem of a zones file, in file order; empty when it is good."""
    try:
        tree = _read_tree(text, source)
    except ZoneLintError as error:
        return error.problems
    problems = _model_problems(tree, source)
    problems += [
        _problem(source, tree, path, message) for check in CHECKS for path, message in check(tree)
    ]
    return sorted(problems, key=lambda problem: problem.line or 0)


def parse_zones(text: str, source: str = "<zones>") -> ZonesFile:
    """Parse zones YAML text; raise ZoneLintError listing every problem."""
    problems = lint_zones(text, source)
    if problems:
        raise ZoneLintError(problems)
    return ZonesFile.model_validate(_read_tree(text, source))


def load_zones(path: Path) -> ZonesFile:
    """Load and lint a zones file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ZoneConfigError(f"cannot read: {error.strerror}", str(path)) from error
    except UnicodeDecodeError as error:
        raise ZoneConfigError(f"not UTF-8 text: {error.reason}", str(path)) from error
    return parse_zones(text, str(path))


def _flow(value: Any) -> Any:
    """Points as `[x, y]` on one line, whole pixels without `.0`."""
    if isinstance(value, dict):
        return CommentedMap((key, _flow(item)) for key, item in value.items())
    if isinstance(value, list):
        if len(value) == 2 and all(isinstance(v, int | float) for v in value):
            seq = CommentedSeq(int(v) if float(v).is_integer() else v for v in value)
            seq.fa.set_flow_style()
            return seq
        return CommentedSeq(_flow(item) for item in value)
    return value


def _null(representer: Any, _: None) -> Any:
    """`null` written out: an empty value reads as an accident to whoever edits the file."""
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def dump_zones(zones: ZonesFile) -> str:
    """YAML text of a zones file: what was set, so inherited thresholds stay inherited."""
    data = {"version": zones.version, **zones.model_dump(mode="json", exclude_unset=True)}
    yaml = YAML(typ="rt")
    yaml.width = 100
    yaml.representer.add_representer(type(None), _null)
    stream = io.StringIO()
    yaml.dump(_flow(data), stream)
    return stream.getvalue()


def sample_zones_text() -> str:
    """The sample zones for the PETS 2009 view (opencv-doc's vtest.avi, 768x576)."""
    return resources.files("vigil.video").joinpath(SAMPLE_ZONES).read_text(encoding="utf-8")


def load_sample_zones() -> ZonesFile:
    return parse_zones(sample_zones_text(), SAMPLE_ZONES)


__all__ = [
    "ZoneLintError",
    "dump_zones",
    "lint_zones",
    "load_sample_zones",
    "load_zones",
    "parse_zones",
    "sample_zones_text",
]
