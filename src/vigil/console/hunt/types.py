"""Hunt requests and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

FilterValue = str | int | float | bool | None


@dataclass(frozen=True)
class Search:
    """Events of one class where each named column equals its value (`*` in text: any run)."""

    event_class: str
    filters: dict[str, FilterValue] = field(default_factory=dict)
    store: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


@dataclass(frozen=True)
class Bin:
    t: datetime
    n: int


@dataclass(frozen=True)
class Rows:
    """A result: column names and rows of JSON-ready values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class SearchResult:
    rows: Rows
    total: int
    histogram: tuple[Bin, ...]


@dataclass(frozen=True)
class SavedSearch:
    id: int
    name: str
    query: dict[str, object]
    created_at: datetime
