"""API models of hunting."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.hunt.types import FilterValue, Rows, SavedSearch, Search, SearchResult


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchCreate(Model):
    event_class: str = Field(description="Lake view, e.g. pos_transaction, network_activity.")
    filters: dict[str, FilterValue] = Field(
        default_factory=dict, description='Column -> value (`"*"` in text matches any run).'
    )
    store: str | None = Field(default=None, description="Only this store (in your scope).")
    since: datetime | None = Field(default=None, description="Event time from (ISO 8601).")
    until: datetime | None = Field(default=None, description="Event time before (ISO 8601).")
    limit: int = Field(default=100, ge=1, le=1000, description="Rows returned at most.")

    def search(self) -> Search:
        return Search(
            self.event_class, dict(self.filters), self.store, self.since, self.until, self.limit
        )


class BinRead(Model):
    t: datetime = Field(description="Start of the bin.")
    n: int = Field(description="Events in it.")


class SearchRead(Model):
    columns: list[str]
    rows: list[list[object]] = Field(description="Newest first.")
    total: int = Field(description="Matching events in all (rows holds at most `limit`).")
    histogram: list[BinRead] = Field(description="Matching events over time.")

    @classmethod
    def of(cls, result: SearchResult) -> SearchRead:
        return cls(
            columns=list(result.rows.columns),
            rows=[list(row) for row in result.rows.rows],
            total=result.total,
            histogram=[BinRead(t=b.t, n=b.n) for b in result.histogram],
        )


class SqlCreate(Model):
    sql: str = Field(max_length=20_000, description="One SELECT over the event-class views.")


class SqlRead(Model):
    columns: list[str]
    rows: list[list[object]] = Field(description="At most 1,000 rows.")

    @classmethod
    def of(cls, rows: Rows) -> SqlRead:
        return cls(columns=list(rows.columns), rows=[list(row) for row in rows.rows])


class SavedCreate(Model):
    name: str = Field(min_length=1, max_length=200, description="Your name for it.")
    query: dict[str, object] = Field(description='A search body, or {"sql": ...}.')


class SavedRead(Model):
    id: int
    name: str
    query: dict[str, object]
    created_at: datetime

    @classmethod
    def of(cls, item: SavedSearch) -> SavedRead:
        return cls(id=item.id, name=item.name, query=item.query, created_at=item.created_at)
