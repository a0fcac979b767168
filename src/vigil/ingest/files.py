"""Batch import of files and folders, with format auto-detection.

    vigil ingest /var/log/zeek/conn.log --format zeek_conn
    vigil ingest sim-out/            # every file, each format detected

Files are read in chunks cut at record boundaries; each chunk's batch id is the
file's path and byte offset, so importing the same file again replaces what the
first import stored instead of doubling it. Gzip files (`.gz`) are read as their
content.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

from vigil.ingest.framing import frame, whole_records
from vigil.ingest.parsers import Parser, parsers
from vigil.ingest.parsers.base import MAX_DOCUMENT_BYTES
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.types import IngestError, RawRecords, UnknownFormatError

logger = logging.getLogger(__name__)

SNIFF_BYTES = 64 * 1024
CHUNK_BYTES = 8 * 1024 * 1024
MIN_CONFIDENCE = 0.5


class _Reading:
    """A file open for import: its content (a `.gz` file's decompressed), and how many of
    its bytes on disk have been read, which is what the progress bar counts."""

    def __init__(self, path: Path) -> None:
        self.raw = path.open("rb")
        self.content: io.BufferedIOBase = (
            gzip.GzipFile(fileobj=self.raw, mode="rb") if path.suffix == ".gz" else self.raw
        )
        self._told = 0

    def read_since(self) -> int:
        """Bytes of the file as stored (compressed for `.gz`) read since the last call."""
        position = self.raw.tell()
        read, self._told = position - self._told, position
        return read

    def close(self) -> None:
        self.content.close()
        self.raw.close()


def detect_format(path: Path) -> str:
    """The parser whose `sniff` is surest about the start of the file."""
    try:
        with closing(_Reading(path)) as reading:
            head = reading.content.read(SNIFF_BYTES)
    except (OSError, EOFError) as error:
        raise IngestError(f"cannot read {path}: {error}") from error
    return detect_bytes(head, str(path))


def detect_bytes(head: bytes, name: str = "input") -> str:
    """The parser whose `sniff` is surest about these first bytes."""
    best, best_score = "", 0.0
    samples: dict[str, list[str]] = {}
    for candidate, cls in parsers.items():
        if cls.framing not in samples:
            framed = frame(head, cls.framing, final=False)
            samples[cls.framing] = framed.text.head(64).to_list()
            if not samples[cls.framing] and cls.framing == "document":
                samples[cls.framing] = [head.decode("utf-8", "replace")]
        score = cls.sniff(samples[cls.framing])
        if score > best_score:
            best, best_score = candidate, score
    if best_score < MIN_CONFIDENCE:
        raise UnknownFormatError(
            f"{name}: format not recognised; give it with --format (see `vigil ingest formats`)"
        )
    return best


@dataclass
class ImportReport:
    """What an import did, per file and in total."""

    files: dict[str, ChunkReport] = field(default_factory=dict)
    unrecognised: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> ChunkReport:
        total = ChunkReport("total", "-")
        for report in self.files.values():
            total.add(report)
        return total


def files_under(path: Path) -> list[Path]:
    """The file itself, or every non-hidden file under a folder, in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise IngestError(f"{path}: no such file or folder")
    return sorted(
        item
        for item in path.rglob("*")
        if item.is_file() and not any(part.startswith(".") for part in item.relative_to(path).parts)
    )


def import_path(
    path: Path,
    ingestor: Ingestor,
    format_name: str | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ImportReport:
    """Import a file or every file under a folder; one bad file never stops the rest."""
    report = ImportReport()
    for file in files_under(path):
        try:
            name = format_name or detect_format(file)
        except UnknownFormatError as error:
            report.unrecognised[str(file)] = str(error)
            if progress is not None:
                progress(file.stat().st_size)  # looked at and passed over: done with
            continue
        parser = parsers.get(name)()
        report.files[str(file)] = import_file(file, parser, ingestor, progress, chunk_bytes)
    return report


def import_file(
    path: Path,
    parser: Parser,
    ingestor: Ingestor,
    progress: Callable[[int], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> ChunkReport:
    """Import one file with one parser, chunk by chunk.

    `progress` is called after each chunk is stored with the bytes of the file on disk
    read for it (compressed bytes for `.gz`): the calls add up to the file's size.
    """
    source = f"file:{path.resolve()}"
    total = ChunkReport(source, parser.name)
    unit = "line" if parser.framing == "line" else "record"
    first = 1
    for offset, data, read in _chunks(path, parser, chunk_bytes):
        if data:
            framed = frame(data, parser.framing)
            records = RawRecords(source, framed.text, first, unit)
            first += len(records)
            total.add(ingestor.ingest(records, parser, f"{source}@{offset}", framed.recoded))
        if progress is not None:
            progress(read)
    return total


def _chunks(path: Path, parser: Parser, chunk_bytes: int) -> Iterator[tuple[int, bytes, int]]:
    """(byte offset in the content, whole records, bytes of the file read since the last
    chunk), chunk by chunk. The last chunk may hold no records, only the last bytes read."""
    try:
        reading = _Reading(path)
    except OSError as error:
        raise IngestError(f"cannot read {path}: {error.strerror or error}") from error
    with closing(reading):
        if parser.framing == "document":
            data = reading.content.read(MAX_DOCUMENT_BYTES + 1)
            if len(data) > MAX_DOCUMENT_BYTES:
                raise IngestError(f"{path}: a document over {MAX_DOCUMENT_BYTES:,} bytes")
            yield 0, data, reading.read_since()
            return
        offset, carry = 0, b""
        while True:
            block = reading.content.read(chunk_bytes)
            whole, carry = whole_records(carry + block, parser.framing, final=not block)
            if whole or not block:
                yield offset, whole, reading.read_since()
                offset += len(whole)
            if not block:
                return
