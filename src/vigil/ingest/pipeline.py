"""The one path every connector feeds: mask, parse, enrich, store, count.

    ingestor = Ingestor(lake, database, enricher)
    report = ingestor.ingest(records, parser, batch_id="tail:/var/log/zeek/conn.log@4096")

A chunk's events go to the lake (one file per class, day and store, named after
the batch id, so a chunk replayed after a crash replaces its files instead of
duplicating them); its rejected records go to the dead letters with source,
position and reason (replacing that batch's earlier dead letters); its counts
go to the per-source totals that `vigil ingest status` shows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vigil.events import EventBatch, OcsfEvent, short_name
from vigil.ingest.pan import mask_pans
from vigil.ingest.parsers.base import Parser, run
from vigil.ingest.types import RawRecords, Rejected
from vigil.store.database import Database
from vigil.store.lake import Lake
from vigil.store.models import DeadLetter, IngestSource

logger = logging.getLogger(__name__)

Enrich = Callable[[EventBatch], EventBatch]
"""Adds context to a batch (store, asset, segment, identity, country); see `vigil.ingest.enrich`."""
Observe = Callable[[EventBatch], None]
"""Called with every stored batch (enriched), in order, one call at a time: live detection."""


@dataclass
class ChunkReport:
    """What one chunk gave: events per class, rejected, skipped, PANs masked, dropped.

    Also a running total (`add`); `rejected_at` is one chunk's own and is not summed.
    """

    source: str
    format: str
    records: int = 0
    events: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    skipped: int = 0
    pans_masked: int = 0
    recoded: int = 0
    dropped: int = 0
    """Records a connector lost before parsing (UDP while behind, over the size limit)."""
    rejected_at: list[int] = field(default_factory=list)
    """Indices in the chunk of its rejected records (a connector tells each sender its own)."""

    @property
    def total_events(self) -> int:
        return sum(self.events.values())

    def add(self, other: ChunkReport) -> None:
        self.records += other.records
        for name, count in other.events.items():
            self.events[name] = self.events.get(name, 0) + count
        self.rejected += other.rejected
        self.skipped += other.skipped
        self.pans_masked += other.pans_masked
        self.recoded += other.recoded
        self.dropped += other.dropped


class Ingestor:
    """Parse, enrich and store chunks of raw records; safe to call from several threads."""

    def __init__(
        self,
        lake: Lake,
        database: Database,
        enrich: Enrich | None = None,
        observe: Observe | None = None,
    ) -> None:
        self.lake = lake
        self.database = database
        self.enrich = enrich
        self.observe = observe
        self._lock = threading.Lock()

    def ingest(
        self,
        records: RawRecords,
        parser: Parser,
        batch_id: str | None = None,
        recoded: int = 0,
    ) -> ChunkReport:
        """Store one chunk. The same `batch_id` twice stores it once (at-least-once delivery)."""
        text, masked = mask_pans(records.text)
        if masked:
            records = RawRecords(records.source, text, records.first, records.unit)
        result = run(parser, records)
        by_class: dict[type[OcsfEvent], list[EventBatch]] = {}
        for batch in result.batches:
            if len(batch):
                by_class.setdefault(batch.event_class, []).append(batch)
        report = ChunkReport(
            records.source,
            parser.name,
            records=len(records),
            rejected=len(result.rejected),
            skipped=result.skipped,
            pans_masked=masked,
            recoded=recoded,
            rejected_at=[item.index for item in result.rejected],
        )
        with self._lock:
            for event_class, batches in by_class.items():
                batch = _merge(event_class, batches)
                if self.enrich is not None:
                    batch = self.enrich(batch)
                self.lake.append(batch, batch_id)
                report.events[short_name(event_class)] = len(batch)
                if self.observe is not None:
                    self.observe(batch)
            with self.database.session() as session:  # one transaction per chunk
                self._dead_letters(session, records, result.rejected, batch_id, parser.name)
                self._count(session, report)
        if result.rejected:
            logger.warning(
                "%s: %d of %d record(s) rejected",
                records.source,
                len(result.rejected),
                len(records),
            )
        return report

    def count_dropped(self, source: str, format_name: str, count: int) -> None:
        """Add records a connector lost before parsing to the source's `dropped` total."""
        with self.database.session() as session:
            self._count(session, ChunkReport(source, format_name, dropped=count))

    def _dead_letters(
        self,
        session: Session,
        records: RawRecords,
        rejected: list[Rejected],
        batch_id: str | None,
        format_name: str,
    ) -> None:
        if not rejected and batch_id is None:
            return
        now = datetime.now(UTC)
        if batch_id is not None:
            session.execute(
                delete(DeadLetter).where(
                    DeadLetter.source == records.source, DeadLetter.batch_uid == batch_id
                )
            )
        session.add_all(
            DeadLetter(
                at=now,
                source=records.source,
                position=records.position(item.index),
                reason=f"{format_name}: {item.reason}"[:4000],
                raw=str(records.text[item.index])[:65536],
                batch_uid=batch_id,
            )
            for item in rejected
        )

    def _count(self, session: Session, report: ChunkReport) -> None:
        now = datetime.now(UTC)
        row = session.get(IngestSource, report.source, with_for_update=True)
        if row is None:
            row = IngestSource(
                source=report.source,
                format=report.format,
                records=0,
                events=0,
                rejected=0,
                skipped=0,
                pans_masked=0,
                recoded=0,
                dropped=0,
                first_at=now,
                last_at=now,
            )
            session.add(row)
        row.format = report.format
        row.records += report.records
        row.events += report.total_events
        row.rejected += report.rejected
        row.skipped += report.skipped
        row.pans_masked += report.pans_masked
        row.recoded += report.recoded
        row.dropped += report.dropped
        row.last_at = now


def _merge(event_class: type[OcsfEvent], batches: list[EventBatch]) -> EventBatch:
    if len(batches) == 1:
        return batches[0]
    return EventBatch(event_class, pa.concat_tables([batch.table for batch in batches]))


DETECTION_SOURCES = "detect:"
"""Dead letters whose source starts so are detection's late rows (`vigil.detect.live`), not
records ingest could not parse."""


@dataclass(frozen=True)
class IngestStatus:
    """What `vigil ingest status` shows."""

    sources: list[IngestSource]
    """Totals per source, busiest first."""
    letters: list[DeadLetter]
    """The newest dead letters asked for, newest first."""
    dead_letters: dict[str, int]
    """Dead letters kept per source, detection's late rows (`detect:*`) included."""


def ingest_status(database: Database, latest: int = 10, source: str | None = None) -> IngestStatus:
    """Totals per source and the newest `latest` dead letters: of the sources whose name
    holds `source`, or without it ingest's only (detection's late rows would crowd them out).
    """
    query = select(DeadLetter)
    if source is None:
        query = query.where(DeadLetter.source.not_like(f"{DETECTION_SOURCES}%"))
    else:
        query = query.where(DeadLetter.source.contains(source, autoescape=True))
    counts = select(DeadLetter.source, func.count()).group_by(DeadLetter.source)
    with database.session() as session:
        sources = list(session.scalars(select(IngestSource).order_by(IngestSource.records.desc())))
        letters = list(session.scalars(query.order_by(DeadLetter.id.desc()).limit(latest)))
        dead_letters = {str(name): int(count) for name, count in session.execute(counts)}
    return IngestStatus(sources, letters, dead_letters)
