"""Import events that are already OCSF JSON (one object per line) into the lake.

Bad lines never stop an import: each is kept as a dead letter with its source,
line number and reason, and counted in the report.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from vigil.events import batches_from_json_lines, short_name
from vigil.store.database import Database
from vigil.store.lake import Lake
from vigil.store.models import DeadLetter

logger = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """What an import did: events stored per class, lines rejected."""

    source: str
    stored: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    lines: int = 0

    @property
    def total_stored(self) -> int:
        return sum(self.stored.values())


def _chunks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    iterator = iter(lines)
    while chunk := list(islice(iterator, size)):
        yield chunk


def import_ocsf_json(
    lines: Iterable[str],
    source: str,
    lake: Lake,
    database: Database,
    chunk_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate, batch and append OCSF JSON lines; dead-letter the ones that fail."""
    report = ImportReport(source)
    for chunk_index, chunk in enumerate(_chunks(lines, chunk_size)):
        offset = chunk_index * chunk_size
        parsed = batches_from_json_lines(chunk)
        rejected = parsed.rejected
        for batch in parsed.batches:
            lake.append(batch)
            report.stored[short_name(batch.event_class)] += len(batch)
        if rejected:
            now = datetime.now(UTC)
            with database.session() as session:
                session.add_all(
                    DeadLetter(
                        at=now,
                        source=source,
                        position=f"line {offset + item.index + 1}",
                        reason=item.reason[:4000],
                        raw=item.raw,
                    )
                    for item in rejected
                )
            report.rejected += len(rejected)
            logger.warning(
                "%s: %d line(s) rejected in chunk %d", source, len(rejected), chunk_index
            )
        report.lines += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return report
