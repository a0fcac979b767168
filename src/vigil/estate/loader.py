"""Load an estate from YAML, with every problem reported as file:line at once."""

from __future__ import annotations

import io
from importlib import resources
from pathlib import Path

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from vigil.estate.checks import CHECKS
from vigil.estate.errors import EstateFileError, Problem
from vigil.estate.types import Estate
from vigil.yamlfiles import line_of

SAMPLE_ESTATE = "sample_estate.yaml"


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


def parse_estate(text: str, source: str = "<estate>") -> Estate:
    """Parse estate YAML text; raise EstateFileError listing every problem."""
    yaml = YAML(typ="rt")
    try:
        tree = yaml.load(io.StringIO(text))
    except MarkedYAMLError as error:
        mark = error.problem_mark
        line = None if mark is None else mark.line + 1
        raise EstateFileError(
            [Problem(source, line, "", f"malformed YAML: {error.problem}")]
        ) from error
    except YAMLError as error:
        raise EstateFileError([Problem(source, None, "", f"malformed YAML: {error}")]) from error
    if not isinstance(tree, CommentedMap):
        raise EstateFileError([Problem(source, 1, "", "an estate file is a YAML mapping")])
    try:
        estate = Estate.model_validate(tree)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            path = tuple(part for part in item["loc"] if isinstance(part, str | int))
            message = item["msg"]
            if item["type"] == "extra_forbidden":
                message = "unknown field"
            problems.append(Problem(source, line_of(tree, path), _dotted(path), message))
        raise EstateFileError(problems) from error
    problems = [
        Problem(source, line_of(tree, path), _dotted(path), message)
        for check in CHECKS
        for path, message in check(estate)
    ]
    if problems:
        raise EstateFileError(problems)
    return estate


def load_estate(path: Path) -> Estate:
    """Load and check an estate file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EstateFileError(
            [Problem(str(path), None, "", f"cannot read: {error.strerror}")]
        ) from error
    except UnicodeDecodeError as error:
        raise EstateFileError(
            [Problem(str(path), None, "", f"not UTF-8 text: {error.reason}")]
        ) from error
    return parse_estate(text, str(path))


def sample_estate_text() -> str:
    """The sample estate that ships with Vigil."""
    return resources.files("vigil.estate").joinpath(SAMPLE_ESTATE).read_text(encoding="utf-8")


def load_sample_estate() -> Estate:
    return parse_estate(sample_estate_text(), SAMPLE_ESTATE)
