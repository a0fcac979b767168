"""The YAML reading and error locating that the rule and playbook loaders share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML

from vigil.yamlfiles import (
    duplicate_errors,
    parse_documents,
    read_documents,
    validation_errors,
    yaml_files,
)


class LocatedError(Exception):
    """A loader's `file:line: message` error, as the helpers build it."""

    def __init__(self, message: str, file: str = "<test>", line: int | None = None) -> None:
        self.message, self.file, self.line = message, file, line
        super().__init__(f"{file}:{line}: {message}")


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str


class Book(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    steps: list[Step]


def test_documents_come_with_their_first_line() -> None:
    text = "id: a\n---\n\n# a comment\nid: b\n---\n- listed\n"
    documents = parse_documents(text, "f.yaml", LocatedError)
    assert [(line, dict(doc) if isinstance(doc, dict) else doc) for line, doc in documents] == [
        (1, {"id": "a"}),
        (5, {"id": "b"}),
        (1, ["listed"]),
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("id: a\nsteps: [\n", 3, id="unclosed-flow"),
        pytest.param("id: a\n  bad: indent\n", 2, id="bad-indent"),
    ],
)
def test_malformed_yaml_is_an_error_at_its_line(text: str, line: int) -> None:
    with pytest.raises(LocatedError) as raised:
        parse_documents(text, "f.yaml", LocatedError)
    assert raised.value.message.startswith("malformed YAML: ")
    assert (raised.value.file, raised.value.line) == ("f.yaml", line)


def test_a_file_that_cannot_be_read_says_so(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(LocatedError) as raised:
        read_documents(missing, LocatedError)
    assert raised.value.message.startswith("cannot read: ")
    assert (raised.value.file, raised.value.line) == (str(missing), None)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(LocatedError, match="cannot read: "):
        read_documents(binary, LocatedError)


def test_read_documents_returns_the_text_too(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("id: a\n", encoding="utf-8")
    text, documents = read_documents(path, LocatedError)
    assert text == "id: a\n"
    assert [line for line, _ in documents] == [1]


def test_yaml_files_walks_folders_and_keeps_files_named(tmp_path: Path) -> None:
    (tmp_path / "pack" / "deep").mkdir(parents=True)
    for name in ("pack/b.yaml", "pack/deep/a.yml", "pack/notes.txt", "single.txt"):
        (tmp_path / name).write_text("")
    found = yaml_files([tmp_path / "single.txt", tmp_path / "pack"])
    assert [path.relative_to(tmp_path).as_posix() for path in found] == [
        "single.txt",
        "pack/b.yaml",
        "pack/deep/a.yml",
    ]


def _invalid(text: str) -> tuple[ValidationError, Any]:
    document = YAML(typ="rt").load(text)
    with pytest.raises(ValidationError) as raised:
        Book.model_validate(document)
    return raised.value, document


def test_validation_errors_name_the_field_and_its_line() -> None:
    failure, document = _invalid("id: a\nsteps:\n  - name: one\n  - nmae: two\ncolour: red\n")
    errors = validation_errors(failure, document, "f.yaml", 1, LocatedError)
    assert [(error.message, error.line) for error in errors] == [
        ("steps.1.name: Field required", 4),
        ("steps.1.nmae: unknown field", 4),
        ("colour: unknown field", 5),
    ]


def test_validation_errors_leave_out_skipped_parts_and_fall_back_to_the_line() -> None:
    failure, document = _invalid("steps: []\n")
    (error,) = validation_errors(failure, document, "f.yaml", 7, LocatedError, skip={"id"})
    assert (error.message, error.line) == ("Field required", 7)


def test_duplicate_ids_point_at_the_later_use() -> None:
    ids = [("a", "one.yaml:1"), ("b", "one.yaml:9"), ("a", "two.yaml:4"), ("b", "two.yaml:x")]
    errors = duplicate_errors("rule", ids, LocatedError)
    assert [(error.message, error.file, error.line) for error in errors] == [
        ("rule id 'a' is also used at one.yaml:1", "two.yaml", 4),
        ("rule id 'b' is also used at one.yaml:9", "two.yaml", None),
    ]
