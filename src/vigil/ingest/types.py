"""What moves through ingest: raw records in, parsed batches and rejects out.

A connector (file, syslog, HTTP, MQTT) cuts what it receives into `RawRecords`:
the records of one source and one format, with where each came from. A parser
turns them into `ParseResult`: one `EventBatch` per OCSF class, and every record
it could not use as a `Rejected`, with the reason. Nothing is dropped silently:
every record is either in a batch, rejected, or counted as skipped (headers and
comments that carry no event).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from vigil.events import EventBatch, short_name


class IngestError(Exception):
    """Base class for every error of `vigil.ingest`."""


class UnknownFormatError(IngestError):
    """No parser has that name, or auto-detection recognised nothing."""


@dataclass(frozen=True)
class RawRecords:
    """Records of one source, decoded to text, numbered from `first` in that source.

    `unit` says what the numbers count ("line" for line-framed files, "record" for
    blocks, "message" for syslog datagrams); `position(i)` names record i for a
    dead letter, so positions cost nothing unless a record is rejected.
    """

    source: str
    text: pl.Series
    first: int = 1
    unit: str = "line"

    def __post_init__(self) -> None:
        if self.text.dtype != pl.String:
            object.__setattr__(self, "text", self.text.cast(pl.String))

    @classmethod
    def of(
        cls, source: str, records: Sequence[str], first: int = 1, unit: str = "line"
    ) -> RawRecords:
        """Records from a list of strings (tests, small inputs)."""
        return cls(source, pl.Series("record", list(records), dtype=pl.String), first, unit)

    def position(self, index: int) -> str:
        return f"{self.unit} {self.first + index}"

    def __len__(self) -> int:
        return len(self.text)


@dataclass(frozen=True)
class Rejected:
    """A record no event could be made of: its index in the input and why."""

    index: int
    reason: str


@dataclass
class ParseResult:
    """Events (one batch per class), rejected records and skipped ones."""

    batches: list[EventBatch] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    skipped: int = 0

    @property
    def events(self) -> int:
        return sum(len(batch) for batch in self.batches)

    def counts(self) -> dict[str, int]:
        """Events per class short name."""
        out: dict[str, int] = {}
        for batch in self.batches:
            name = short_name(batch.event_class)
            out[name] = out.get(name, 0) + len(batch)
        return out

    def extend(self, other: ParseResult, offset: int = 0) -> None:
        """Add another result whose record indexes start at `offset`."""
        self.batches.extend(other.batches)
        self.rejected.extend(Rejected(item.index + offset, item.reason) for item in other.rejected)
        self.skipped += other.skipped
