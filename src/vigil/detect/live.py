"""Live detection: every batch ingest stores goes through the engine at once.

`LiveDetection` is the ingest pipeline's observer (`Ingestor(..., observe=live)`):
ingest calls it with each enriched batch right after storing it, one call at a
time, so alerts follow their events within the batch's latency. Alerts are
stored (once each) and, when a bus is given, published; rows the engine refuses
as late become dead letters with the reason, like a record ingest cannot parse.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import polars as pl

from vigil.bus.types import Bus
from vigil.detect.engine import Engine
from vigil.detect.sink import publish_alerts, store_alerts
from vigil.detect.types import TIME, Alert
from vigil.events.batch import EventBatch
from vigil.store.database import Database
from vigil.store.models import DeadLetter

logger = logging.getLogger(__name__)


class LiveDetection:
    """Runs the engine on stored batches; counts what it raised and refused."""

    def __init__(
        self,
        engine: Engine,
        database: Database,
        bus: Bus | None = None,
        then: Callable[[Sequence[Alert]], None] | None = None,
    ) -> None:
        self.engine = engine
        self.database = database
        self.bus = bus
        self.then = then
        """Called with each batch's alerts once they are stored (correlation, response)."""
        self.alerts = 0
        self.late = 0

    def __call__(self, batch: EventBatch) -> None:
        result = self.engine.process_batch(batch)
        if result.alerts:
            self.alerts += store_alerts(self.database, result.alerts)
            if self.bus is not None:
                asyncio.run(publish_alerts(self.bus, result.alerts))
            if self.then is not None:
                self.then(result.alerts)
        if len(result.late):
            self.late += len(result.late)
            self._dead_letters(result.late)

    def _dead_letters(self, late: pl.DataFrame) -> None:
        now = datetime.now(UTC)
        with self.database.session() as session:
            for row in late.iter_rows(named=True):
                kept = {k: v for k, v in row.items() if v is not None and not k.startswith("_")}
                session.add(
                    DeadLetter(
                        at=now,
                        source=f"detect:{row['_class']}",
                        position=str(row[TIME]),
                        reason=str(row["_reason"]),
                        raw=json.dumps(kept, default=str),
                    )
                )
        logger.warning("detection refused %d late row(s)", len(late))
