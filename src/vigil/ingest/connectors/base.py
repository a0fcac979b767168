"""The connector plugin: something that receives raw records and feeds the pipeline.

A connector is one module holding its pydantic config (`type: Literal["syslog"]`)
and its implementation, registered into `connectors`. It runs as an asyncio task
until asked to stop; what it receives goes into a `Batcher`, which cuts records
into chunks (a few thousand records or a few hundred milliseconds, whichever
comes first) and hands each chunk to the `Ingestor` in a worker thread, so
parsing never blocks the event loop. The batcher's queue is bounded: when it is
full, `offer` says so, and the connector pushes back on its sender (HTTP 429,
TCP reads paused) instead of buffering without limit.

Acknowledged only once stored: a connector whose protocol has an acknowledgement
(HTTP's answer, MQTT's PUBACK) hands records on with `promise`, whose future
settles with a `Receipt` once the chunk holding them is stored (its events in
the lake and its dead letters and counts committed to the database), and only
then answers its sender. A connector whose protocol has none (syslog) uses
`offer`. A chunk is cut when `batch_records` are pending or the oldest has
waited `batch_seconds`; records whose sender waits for the answer are cut as
soon as the batcher is idle instead, so an answer never waits on the timer:
under load, what arrives while a chunk is being stored gathers into the next
one, so chunks grow with the load.

A chunk whose storage fails (database down, disk full) is not lost. By default
the batcher keeps it and retries it with back-off (`RETRY_FIRST` doubling up to
`RETRY_MOST` seconds) before anything newer, under the same batch id so a retry
after a half-done write replaces rather than duplicates; meanwhile the queue
fills and the senders are pushed back, and after `stop` a failing chunk gets
`RETRIES_AFTER_STOP` more tries before it is given up, loudly. A batcher made
with `refuse_failed=True` (HTTP) instead removes what the failed attempt wrote to
the lake and settles the chunk's receipts as not stored, so that its senders,
told so (503), send the records again: retrying as well would store them twice,
since a resent request arrives in a new chunk under a new batch id.

Records lost before they reach a chunk (UDP datagrams while the pipeline is
behind, messages over the size limit) are counted with `drop` and added to the
source's `dropped` total in the database, which `vigil ingest status` shows.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
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
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


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

    def reports(self) -> list[ChunkReport]:
        """The running counts of each source it feeds (the `serve` summary)."""
        return [batcher.report for batcher in self.batchers]

    @abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Serve until `stop` is set, then flush what was received and return."""


connectors: Registry[Connector[ConnectorConfig]] = Registry("connector")


@dataclass(frozen=True)
class Receipt:
    """What became of the records of one `promise`: stored or not, and how many rejected.

    Stored means the chunk holding them is in the lake and the database; `rejected`
    of them are dead letters (kept, but not events).
    """

    stored: bool
    records: int
    rejected: int = 0


@dataclass
class _Chunk:
    """Records on their way to the pipeline, with the receipts waiting on them."""

    records: list[str] = field(default_factory=list)
    recoded: int = 0
    waiters: list[tuple[int, int, asyncio.Future[Receipt]]] = field(default_factory=list)
    """(first index, count, future) of each `promise` in the chunk."""

    def settle(self, report: ChunkReport | None) -> None:
        """Tell every waiter: stored (`report`, with its rejected indices) or not (None)."""
        rejected = sorted(report.rejected_at) if report is not None else []
        for start, count, future in self.waiters:
            if future.done():  # its sender went away (the HTTP handler was cancelled)
                continue
            if report is None:
                future.set_result(Receipt(stored=False, records=count))
                continue
            among = bisect.bisect_left(rejected, start + count) - bisect.bisect_left(
                rejected, start
            )
            future.set_result(Receipt(stored=True, records=count, rejected=among))


class Batcher:
    """Collects records of one source and ingests them in chunks, off the event loop.

    `offer` returns False when the queue of chunks is full (the caller pushes back);
    `promise` does the same with a future of the records' `Receipt`; `run` is the
    task that moves chunks to the pipeline; after its `stop` it flushes the rest.
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
        *,
        refuse_failed: bool = False,
    ) -> None:
        self.source = source
        self.parser = parser
        self.ingestor = ingestor
        self.batch_records = batch_records
        self.batch_seconds = batch_seconds
        self.unit = unit
        self.clock = clock
        self.refuse_failed = refuse_failed
        self.queue: asyncio.Queue[_Chunk] = asyncio.Queue(maxsize=queue_chunks)
        self.pending = _Chunk()
        self.started = 0.0
        self.received = 0
        self.report = ChunkReport(source, parser.name)
        self.failed: tuple[_Chunk, RawRecords, str] | None = None
        """The chunk whose storage failed, with its batch id, waiting for its retry."""
        self.failures = 0
        self.retry_at = 0.0
        self.unsaved_drops = 0
        """Drops counted in `report` but not yet added to the database."""
        self.drops_due = 0.0

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

    def offer(self, records: list[str], recoded: int = 0) -> bool:
        """Take records unless the queue is full; cut a chunk when one is due.

        `recoded`: how many of them were not UTF-8 (counted once they are stored).
        """
        if self.queue.full():
            return False
        if not self.pending.records:
            self.started = self.clock()
        self.pending.records.extend(records)
        self.pending.recoded += recoded
        if len(self.pending.records) >= self.batch_records:
            self.cut()
        return True

    def promise(self, records: list[str], recoded: int = 0) -> asyncio.Future[Receipt] | None:
        """`offer`, with a future that settles once the records are stored (or given up).

        None when the queue is full. Call it on the event loop that runs `run`.
        """
        if self.queue.full():
            return None
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self.pending.waiters.append((len(self.pending.records), len(records), future))
        self.offer(records, recoded)
        return future

    def cut(self) -> None:
        """Queue what is pending as a chunk now (unless the queue is full)."""
        if self.pending.records and not self.queue.full():
            chunk, self.pending = self.pending, _Chunk()
            self.queue.put_nowait(chunk)

    def drop(self, count: int = 1) -> None:
        """Count records lost before the pipeline; they reach the database from `run`."""
        self.report.dropped += count
        self.unsaved_drops += count

    async def run(self, stop: asyncio.Event) -> None:
        """Hand chunks to the pipeline until `stop`, then drain everything received."""
        while True:
            if self.unsaved_drops and self.clock() >= self.drops_due:
                await self._save_drops()
            if self.failed is not None:
                if self.clock() >= self.retry_at:
                    await self._store(*self.failed)
                else:
                    await asyncio.sleep(min(self.batch_seconds / 4, 0.05))
                if stop.is_set() and self.failures > RETRIES_AFTER_STOP:
                    break
                continue
            waited = self.clock() - self.started >= self.batch_seconds
            answer_due = bool(self.pending.waiters) and self.queue.empty()
            if self.pending.records and (waited or answer_due):
                if self.queue.full():
                    await self._ingest_next()
                    continue
                self.cut()
            if not self.queue.empty():
                await self._ingest_next()
                continue
            if stop.is_set():
                if not self.pending.records:
                    break
                self.cut()
                continue
            await asyncio.sleep(min(self.batch_seconds / 4, 0.05))
        if self.unsaved_drops:
            await self._save_drops()
        self._give_up()

    def _give_up(self) -> None:
        """Settle what could not be stored as not stored, and say how much that was."""
        left = [self.pending, *self._drain()]
        if self.failed is not None:
            left.append(self.failed[0])
        self.pending, self.failed = _Chunk(), None
        lost = sum(len(chunk.records) for chunk in left)
        for chunk in left:
            chunk.settle(None)
        if lost:
            logger.error("%s: storage keeps failing; %d record(s) not stored", self.source, lost)

    def _drain(self) -> list[_Chunk]:
        chunks = []
        while not self.queue.empty():
            chunks.append(self.queue.get_nowait())
        return chunks

    async def _ingest_next(self) -> None:
        chunk = self.queue.get_nowait()
        first = self.received + 1
        self.received += len(chunk.records)
        records = RawRecords(
            self.source, pl.Series("record", chunk.records, dtype=pl.String), first, self.unit
        )
        # A plain name (as the lake names its files) so a refused chunk's files can be found.
        batch_id = f"{_UNSAFE.sub('_', self.source)}-{uuid.uuid4().hex}"
        await self._store(chunk, records, batch_id)

    async def _store(self, chunk: _Chunk, records: RawRecords, batch_id: str) -> None:
        """Store a chunk; on failure retry it later or refuse it (never raise)."""
        try:
            report = await asyncio.to_thread(
                self.ingestor.ingest, records, self.parser, batch_id, chunk.recoded
            )
        except Exception:  # a storage fault must not kill the listener nor lose the chunk
            if self.refuse_failed:
                logger.exception(
                    "%s: could not store %d record(s); their senders are told to send again",
                    self.source,
                    len(records),
                )
                await asyncio.to_thread(self._discard, batch_id)
                chunk.settle(None)
                return
            self.failures += 1
            delay = min(RETRY_FIRST * 2 ** (self.failures - 1), RETRY_MOST)
            logger.exception(
                "%s: could not store %d record(s); retry %d in %.1f s",
                self.source,
                len(records),
                self.failures,
                delay,
            )
            self.failed = (chunk, records, batch_id)
            self.retry_at = self.clock() + delay
            return
        self.failed = None
        self.failures = 0
        self.report.add(report)
        chunk.settle(report)

    def _discard(self, batch_id: str) -> None:
        """Remove the lake files a failed attempt wrote, so a resend is not a duplicate."""
        name = f"part-{batch_id}.parquet"
        for path in self.ingestor.lake.files():
            if path.name == name:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    logger.exception("%s: could not remove %s", self.source, path)

    async def _save_drops(self) -> None:
        count, self.unsaved_drops = self.unsaved_drops, 0
        self.drops_due = self.clock() + max(self.batch_seconds, 1.0)
        try:
            await asyncio.to_thread(
                self.ingestor.count_dropped, self.source, self.parser.name, count
            )
        except Exception:  # kept for the next try: a count must not kill the listener
            self.unsaved_drops += count
            logger.exception("%s: could not count %d dropped record(s)", self.source, count)
