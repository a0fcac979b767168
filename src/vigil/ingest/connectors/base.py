"""The connector plugin: something that receives raw records and feeds the pipeline.

A connector is one module holding its pydantic config (`type: Literal["syslog"]`)
and its implementation, registered into `connectors`. It runs as an asyncio task
until asked to stop; what it receives goes into a `Batcher`, which cuts records
into chunks (a few thousand records or a few hundred milliseconds, whichever
comes first) and hands each chunk to the `Ingestor` in a worker thread, so
parsing never blocks the event loop. The batcher's queue is bounded: when it is
full, `offer` says so, and the connector pushes back on its sender (HTTP 429,
TCP reads paused) instead of buffering without limit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import ClassVar, Generic, TypeVar

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from vigil.ingest.parsers import Parser, parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.types import RawRecords
from vigil.plugins import Registry

logger = logging.getLogger(__name__)


class ConnectorConfig(BaseModel):
    """Settings every connector shares; each plugin extends it with its own `type`."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="Which connector.")
    name: str = Field(description="Source name, as shown in `vigil ingest status`.")
    format: str = Field(description="Parser for what arrives (see `vigil ingest formats`).")
    batch_records: int = Field(
        default=5000, ge=1, description="Most records in one chunk handed to the pipeline."
    )
    batch_seconds: float = Field(
        default=0.25, gt=0, description="Longest a record waits before its chunk is handed on."
    )
    queue_chunks: int = Field(
        default=8,
        ge=1,
        description="Chunks waiting for the pipeline before senders are pushed back.",
    )


C = TypeVar("C", bound=ConnectorConfig)


class Connector(ABC, Generic[C]):
    """Receives records and hands them to the pipeline until `stop` is set."""

    config_model: ClassVar[type[ConnectorConfig]] = ConnectorConfig

    def __init__(self, config: C, ingestor: Ingestor) -> None:
        self.config = config
        self.ingestor = ingestor

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then flush what was received and return."""


connectors: Registry[Connector[ConnectorConfig]] = Registry("connector")


class Batcher:
    """Collects records of one source and ingests them in chunks, off the event loop.

    `offer` returns False when the queue of chunks is full (the caller pushes back);
    `run` is the task that moves chunks to the pipeline; `close` flushes the rest.
    """

    def __init__(
        self,
        source: str,
        parser: Parser,
        ingestor: Ingestor,
        batch_records: int = 5000,
        batch_seconds: float = 0.25,
        queue_chunks: int = 8,
        unit: str = "message",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.parser = parser
        self.ingestor = ingestor
        self.batch_records = batch_records
        self.batch_seconds = batch_seconds
        self.unit = unit
        self.clock = clock
        self.queue: asyncio.Queue[list[str] | None] = asyncio.Queue(maxsize=queue_chunks)
        self.pending: list[str] = []
        self.started = 0.0
        self.received = 0
        self.report = ChunkReport(source, parser.name)

    @classmethod
    def for_config(
        cls, config: ConnectorConfig, ingestor: Ingestor, unit: str = "message"
    ) -> Batcher:
        return cls(
            f"{config.type}:{config.name}",
            parsers.get(config.format)(),
            ingestor,
            config.batch_records,
            config.batch_seconds,
            config.queue_chunks,
            unit,
        )

    @property
    def full(self) -> bool:
        return self.queue.full()

    def offer(self, records: list[str]) -> bool:
        """Take records unless the queue is full; cut a chunk when one is due."""
        if self.queue.full():
            return False
        if not self.pending:
            self.started = self.clock()
        self.pending.extend(records)
        if len(self.pending) >= self.batch_records:
            self._cut()
        return True

    def _cut(self) -> None:
        if self.pending:
            chunk, self.pending = self.pending, []
            self.queue.put_nowait(chunk)

    async def run(self, stop: asyncio.Event) -> None:
        """Hand chunks to the pipeline until `stop`, then drain everything received."""
        while True:
            if self.pending and self.clock() - self.started >= self.batch_seconds:
                if self.queue.full():
                    await self._ingest_next()
                self._cut()
            if not self.queue.empty():
                await self._ingest_next()
                continue
            if stop.is_set():
                break
            await asyncio.sleep(min(self.batch_seconds / 4, 0.05))
        self._cut()
        while not self.queue.empty():
            await self._ingest_next()

    async def _ingest_next(self) -> None:
        chunk = self.queue.get_nowait()
        if not chunk:
            return
        first = self.received + 1
        self.received += len(chunk)
        records = RawRecords(
            self.source, pl.Series("record", chunk, dtype=pl.String), first, self.unit
        )
        try:
            report = await asyncio.to_thread(self.ingestor.ingest, records, self.parser)
        except Exception:  # a storage fault must not kill the listener; it is logged loudly
            logger.exception("%s: could not store %d record(s)", self.source, len(chunk))
            return
        self.report.add(report)
