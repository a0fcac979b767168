"""API models of the health screen."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vigil.console.health.types import Health


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceRead(Model):
    source: str
    format: str
    records: int
    events: int
    rejected: int
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
