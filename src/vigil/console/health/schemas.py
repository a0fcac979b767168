"""API models of the health screen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.health.types import DeadLetterEntry, DeadLetterPage, Health


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRead(Model):
    source: str
    format: str
    records: int
    events: int
    rejected: int
    skipped: int = Field(description="Records that carry no event (headers, comments).")
    recoded: int = Field(description="Records that were not UTF-8, read as Latin-1.")
    pans_masked: int = Field(description="Card numbers masked before storage.")
    dropped: int = Field(
        description="Records a connector lost before parsing (UDP while behind, oversized)."
    )
    last_at: datetime
    lag_s: float = Field(description="Seconds since it last delivered.")


class DeadLettersRead(Model):
    total: int
    by_source: dict[str, int]


class WorkerRead(Model):
    name: str
    status: str = Field(description="ok, degraded or down.")
    detail: str


class HealthRead(Model):
    sources: list[SourceRead]
    dead_letters: DeadLettersRead
    workers: list[WorkerRead]

    @classmethod
    def of(cls, health: Health) -> HealthRead:
        return cls(
            sources=[
                SourceRead(
                    source=s.source,
                    format=s.format,
                    records=s.records,
                    events=s.events,
                    rejected=s.rejected,
                    skipped=s.skipped,
                    recoded=s.recoded,
                    pans_masked=s.pans_masked,
                    dropped=s.dropped,
                    last_at=s.last_at,
                    lag_s=s.lag_s,
                )
                for s in health.sources
            ],
            dead_letters=DeadLettersRead(
                total=health.dead_letters_total, by_source=dict(health.dead_letters_by_source)
            ),
            workers=[
                WorkerRead(name=w.name, status=w.status, detail=w.detail) for w in health.workers
            ],
        )


class DeadLetterRead(Model):
    id: int = Field(description="Increasing; pass the last one read as `before` for older ones.")
    at: datetime = Field(description="When it was kept.")
    source: str = Field(description="The source it came from (`detect:*`: a late row).")
    position: str | None = Field(description="Where in the source: `line 5`, `message 3`, ….")
    reason: str = Field(description="Why it was refused, prefixed with the parser's name.")
    raw: str = Field(description="The record as received; card numbers are masked.")

    @classmethod
    def of(cls, item: DeadLetterEntry) -> DeadLetterRead:
        return cls(
            id=item.id,
            at=item.at,
            source=item.source,
            position=item.position,
            reason=item.reason,
            raw=item.raw,
        )


class DeadLetterPageRead(Model):
    items: list[DeadLetterRead] = Field(description="Newest first.")
    next_before: int | None = Field(description="`before` for the next page; null at the end.")

    @classmethod
    def of(cls, page: DeadLetterPage) -> DeadLetterPageRead:
        return cls(
            items=[DeadLetterRead.of(item) for item in page.items], next_before=page.next_before
        )
