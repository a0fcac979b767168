"""The connector plugin: something that receives raw records and feeds the pipeline.

A connector is one module holding its pydantic config (`type: Literal["syslog"]`)
and its implementation, registered into `connectors`. It runs as an asyncio task
until asked to stop; what it receives goes into a `Batcher`, which cuts records
into chunks (a few thousand records or a few hundred milliseconds, whichever
comes first) and hands each chunk to the `Ingestor` in a worker thread, so
parsing never blocks the event loop. The batcher's queue is bounded: when it is
full, `offer` says so, and the connector pushes back on its sender (HTTP 429,
TCP reads paused) instead of buffering without limit.

A chunk whose storage fails (database down, disk full) is not lost: the batcher
keeps it and retries it with back-off (`RETRY_FIRST` doubling up to `RETRY_MOST`
seconds) before anything newer, under the same batch id so a retry after a
half-done write replaces rather than duplicates. Meanwhile the queue fills and the
senders are pushed back. After `stop`, a failing chunk gets `RETRIES_AFTER_STOP`
more tries before it is given up, loudly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
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

RETRY_FIRST = 0.5
RETRY_MOST = 30.0
RETRIES_AFTER_STOP = 3


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
        self.ready = asyncio.Event()
        """Set once the connector listens or is subscribed (`serve` and tests wait on it)."""
        self.port: int | None = None
        """The port it listens on, once ready (a config port 0 picks a free one)."""
        self.batchers: list[Batcher] = []
        """One per source it feeds; their `report`s are the running counts."""

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
        self.failed: tuple[RawRecords, str] | None = None
        """The chunk whose storage failed, with its batch id, waiting for its retry."""
        self.failures = 0
        self.retry_at = 0.0

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
            if self.failed is not None:
                if self.clock() >= self.retry_at:
                    await self._store(*self.failed)
                else:
                    await asyncio.sleep(min(self.batch_seconds / 4, 0.05))
                if stop.is_set() and self.failures > RETRIES_AFTER_STOP:
                    break
                continue
            if self.pending and self.clock() - self.started >= self.batch_seconds:
                if self.queue.full():
                    await self._ingest_next()
                    continue
                self._cut()
            if not self.queue.empty():
                await self._ingest_next()
                continue
            if stop.is_set():
                if not self.pending:
                    break
                self._cut()
                continue
            await asyncio.sleep(min(self.batch_seconds / 4, 0.05))
        lost = len(self.pending) + sum(len(chunk or ()) for chunk in self._drain())
        if self.failed is not None:
            lost += len(self.failed[0])
        if lost:
            logger.error("%s: storage keeps failing; %d record(s) not stored", self.source, lost)

    def _drain(self) -> list[list[str] | None]:
        chunks = []
        while not self.queue.empty():
            chunks.append(self.queue.get_nowait())
        return chunks

    async def _ingest_next(self) -> None:
        chunk = self.queue.get_nowait()
        if not chunk:
            return
        first = self.received + 1
        self.received += len(chunk)
        records = RawRecords(
            self.source, pl.Series("record", chunk, dtype=pl.String), first, self.unit
        )
        await self._store(records, f"{self.source}-{uuid.uuid4().hex}")

    async def _store(self, records: RawRecords, batch_id: str) -> None:
        """Store a chunk; on failure keep it for a retry with back-off (never raise)."""
        try:
            report = await asyncio.to_thread(self.ingestor.ingest, records, self.parser, batch_id)
        except Exception:  # a storage fault must not kill the listener nor lose the chunk
            self.failures += 1
            delay = min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MOST)
            logger.exception(
                "%s: could not store %d record(s); retry %d in %.1f s",
                self.source,
                len(records),
                self.failures,
                delay,
            )
            self.failed = (records, batch_id)
            self.retry_at = self.clock() + delay
            return
        self.failed = None
        self.failures = 0
        self.report.add(report)
