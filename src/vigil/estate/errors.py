"""Errors raised when an estate cannot be loaded."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an estate file, located as precisely as possible."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class EstateError(Exception):
    """Base class for every error of `vigil.estate`."""


class UnknownStoreError(EstateError, LookupError):
    """A store uid that the estate does not have."""


class EstateFileError(EstateError):
    """An estate file that cannot be loaded; lists every problem found at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(problem) for problem in problems))
