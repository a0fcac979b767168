"""Following one log file as it grows: checkpoints, rotation and truncation, exactly once.

A `Follower` reads one path chunk by chunk, in this order: read whole records from
the checkpointed offset (at most `max_records` of them), ingest them with the
batch id `tail:<path>#<generation>@<offset>`, then write the checkpoint. A crash
anywhere in between re-reads the chunk from the same offset after the restart;
the lake and the dead letters replace what a batch id stored before, so each
record ends up stored once. A chunk re-read after the file grew has the same
first records and perhaps more (chunks are bounded by a record count and a byte
window, never by time), so it covers every partition the first attempt wrote.

Rotation: when the path names a new file, the old one is finished from the open
handle, then the new one is read from 0 with the next generation number (in the
batch id, so its first chunk does not replace the old file's). A file renamed
away while the tailer was down is found by its inode beside the path and
finished first. `copytruncate` shows as a file shorter than the offset, or one
whose first bytes changed: it is read again from 0 as a new generation.

A last record without its newline (blank line, for block framing) waits for it;
after `idle_seconds` without change it is taken as it is.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from vigil.ingest.checkpoint import (
    FINGERPRINT_BYTES,
    Checkpoint,
    CheckpointStore,
    fingerprint,
    same_file,
)
from vigil.ingest.framing import frame
from vigil.ingest.parsers import Parser, parsers
from vigil.ingest.parsers.base import Framing, run
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.types import IngestError, RawRecords

logger = logging.getLogger(__name__)

READ_BYTES = 4 * 1024 * 1024
"""Bytes read at once; a chunk ends at the last whole record inside them."""
MAX_RECORD_BYTES = 64 * 1024 * 1024
"""A record longer than this (no separator in sight) is cut here."""
CHUNKS_PER_POLL = 16
"""Chunks one file gives per poll, so one busy file does not starve the others."""
HEADER_BYTES = 64 * 1024

_BLANK_LINES = re.compile(rb"\r?\n(?:[ \t]*\r?\n)+")


@dataclass(frozen=True)
class Chunk:
    """Whole records read from one file at one offset."""

    offset: int
    data: bytes


def cut_records(data: bytes, framing: Framing, max_records: int) -> tuple[int, int]:
    """(bytes, records): the end of the first `max_records` whole records of `data`.

    Deterministic in the bytes alone, and monotone: more bytes after the same start
    never give fewer records. Blank blocks are not counted, as `split_records` drops them.
    """
    end = count = 0
    if framing == "line":
        while count < max_records:
            found = data.find(b"\n", end)
            if found < 0:
                break
            end, count = found + 1, count + 1
        return end, count
    start = 0
    for match in _BLANK_LINES.finditer(data):
        if data[start : match.start()].strip():
            count += 1
        start = end = match.end()
        if count >= max_records:
            break
    return end, count


class Follower:
    """One followed path: the file it names now, and the offset in it."""

    def __init__(
        self,
        path: str,
        format_name: str,
        ingestor: Ingestor,
        store: CheckpointStore,
        *,
        start_at_end: bool = False,
        max_records: int = 5000,
        idle_seconds: float = 5.0,
        read_bytes: int = READ_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.source = f"tail:{path}"
        self.format_name = format_name
        self.framing: Framing = parsers.get(format_name).framing
        if self.framing == "document":
            raise IngestError(f"{format_name} reads whole documents; it cannot be tailed")
        self.unit = "line" if self.framing == "line" else "record"
        self.ingestor = ingestor
        self.store = store
        self.start_at_end = start_at_end
        self.max_records = max_records
        self.idle_seconds = idle_seconds
        self.read_bytes = read_bytes
        self.clock = clock
        self.checkpoint = store.load(path)
        self.parser: Parser = parsers.get(format_name)()
        self.report = ChunkReport(self.source, format_name)
        """What this follower has stored since it started (the `serve` summary)."""
        self.fd: int | None = None
        self.moved = False
        """The path names another file now (or none): finish this one, then switch."""
        self._tail: tuple[int, int] | None = None
        self._tail_since = 0.0

    def poll(self) -> int:
        """Ingest what is new; returns the number of records stored."""
        if self.fd is None and not self._open():
            return 0
        if not self.moved:
            self.moved = self._path_moved()
            if not self.moved and self._truncated():
                logger.info("%s: truncated or replaced in place; reading it again", self.path)
                self.close()
                self._open()
        count = self._drain()
        if self.fd is not None and self.moved and self._at_end():
            logger.info("%s: rotated; following the new file", self.path)
            self.close()
            if self._open():
                count += self._drain()
        return count

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self.moved = False
        self._tail = None

    # -- opening ---------------------------------------------------------------

    def _open(self) -> bool:
        at_end, self.start_at_end = self.start_at_end, False
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        except OSError as error:
            logger.warning("%s: cannot open: %s", self.path, error.strerror or error)
            return False
        checkpoint = self.checkpoint
        if checkpoint is not None:
            if self._resumable(fd, checkpoint):
                self._resume(fd, checkpoint)
                return True
            if not self._is(fd, checkpoint):
                rotated = self._find_rotated(checkpoint)
                if rotated is not None:  # renamed away while we were down: finish it first
                    os.close(fd)
                    self._resume(rotated, checkpoint)
                    self.moved = True
                    return True
        generation = checkpoint.generation + 1 if checkpoint is not None else 0
        offset, first = self._end(fd) if at_end else (0, 1)
        self.parser = parsers.get(self.format_name)()
        self.fd = fd
        self._save(offset, first, generation)  # before any chunk, so a restart agrees
        if offset:
            self._prime()
        return True

    @staticmethod
    def _is(fd: int, checkpoint: Checkpoint) -> bool:
        stat = os.fstat(fd)
        return (stat.st_dev, stat.st_ino) == (checkpoint.device, checkpoint.inode)

    def _resumable(self, fd: int, checkpoint: Checkpoint) -> bool:
        return (
            self._is(fd, checkpoint)
            and os.fstat(fd).st_size >= checkpoint.offset
            and same_file(fd, checkpoint)
        )

    def _resume(self, fd: int, checkpoint: Checkpoint) -> None:
        self.fd = fd
        self.parser = parsers.get(self.format_name)()
        if checkpoint.offset:
            self._prime()

    def _find_rotated(self, checkpoint: Checkpoint) -> int | None:
        """The checkpoint's file under another name beside the path, if unfinished."""
        folder = os.path.dirname(self.path) or "."
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return None
        for entry in entries:
            if entry.inode() != checkpoint.inode or entry.path == self.path:
                continue
            try:
                fd = os.open(entry.path, os.O_RDONLY)
            except OSError:
                continue
            if self._resumable(fd, checkpoint) and os.fstat(fd).st_size > checkpoint.offset:
                logger.info("%s: finishing %s, rotated while stopped", self.path, entry.path)
                return fd
            os.close(fd)
        return None

    def _end(self, fd: int) -> tuple[int, int]:
        """Offset after the last whole record, and the number of the record there."""
        offset = first = 0
        size = os.fstat(fd).st_size
        while offset < size:
            data = os.pread(fd, self.read_bytes, offset)
            end, count = cut_records(data, self.framing, len(data) + 1)
            if not count:
                break
            offset, first = offset + end, first + count
        return offset, first + 1

    def _prime(self) -> None:
        """Show a parser that starts mid-file the file's header lines (Zeek's `#fields`)."""
        if self.fd is None or self.framing != "line":
            return
        head = os.pread(self.fd, HEADER_BYTES, 0).split(b"\n")[:-1]
        lines = []
        for line in head:
            if not line.startswith(b"#"):
                break
            lines.append(line.decode("utf-8", "replace").rstrip("\r"))
        if lines:
            run(self.parser, RawRecords.of(self.source, lines, 1, self.unit))

    # -- watching ----------------------------------------------------------------

    def _path_moved(self) -> bool:
        assert self.fd is not None  # noqa: S101 - only called with a file open
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return True
        mine = os.fstat(self.fd)
        return (stat.st_dev, stat.st_ino) != (mine.st_dev, mine.st_ino)

    def _truncated(self) -> bool:
        checkpoint = self.checkpoint
        if self.fd is None or checkpoint is None:
            return False
        return os.fstat(self.fd).st_size < checkpoint.offset or not same_file(self.fd, checkpoint)

    def _at_end(self) -> bool:
        return self.fd is None or self._offset >= os.fstat(self.fd).st_size

    @property
    def _offset(self) -> int:
        return self.checkpoint.offset if self.checkpoint is not None else 0

    # -- reading and storing ---------------------------------------------------

    def _drain(self) -> int:
        count = 0
        for _ in range(CHUNKS_PER_POLL):
            chunk = self._next_chunk()
            if chunk is None:
                break
            count += self._store(chunk)
        return count

    def _next_chunk(self) -> Chunk | None:
        if self.fd is None:
            return None
        offset = self._offset
        size = os.fstat(self.fd).st_size
        if offset >= size:
            self._tail = None
            return None
        data, end = self._read(self.fd, offset, size)
        if end:
            self._tail = None
            return Chunk(offset, data[:end])
        return self._idle_tail(offset, size, data)

    def _read(self, fd: int, offset: int, size: int) -> tuple[bytes, int]:
        """Bytes from `offset` and the end of the whole records among them (0: none)."""
        data = os.pread(fd, min(self.read_bytes, size - offset), offset)
        end, _ = cut_records(data, self.framing, self.max_records)
        if not end and len(data) == self.read_bytes and size - offset > len(data):
            data = os.pread(fd, min(MAX_RECORD_BYTES, size - offset), offset)
            end, _ = cut_records(data, self.framing, self.max_records)
            if not end and len(data) == MAX_RECORD_BYTES:
                logger.warning(
                    "%s: a record over %d bytes at %d; cut", self.path, len(data), offset
                )
                end = len(data)
        return data, end

    def _idle_tail(self, offset: int, size: int, data: bytes) -> Chunk | None:
        """An unterminated last record, once it has stopped changing for `idle_seconds`."""
        seen, now = (offset, size), self.clock()
        if self._tail != seen:
            self._tail, self._tail_since = seen, now
            return None
        if now - self._tail_since < self.idle_seconds:
            return None
        self._tail = None
        return Chunk(offset, data)

    def _store(self, chunk: Chunk) -> int:
        checkpoint = self.checkpoint
        assert checkpoint is not None  # noqa: S101 - written when the file was opened
        framed = frame(chunk.data, self.framing)
        if len(framed.text):
            records = RawRecords(self.source, framed.text, checkpoint.next_record, self.unit)
            batch_id = f"{self.source}#{checkpoint.generation}@{chunk.offset}"
            self.report.add(self.ingestor.ingest(records, self.parser, batch_id, framed.recoded))
        self._save(
            chunk.offset + len(chunk.data),
            checkpoint.next_record + len(framed.text),
            checkpoint.generation,
        )
        return len(framed.text)

    def _save(self, offset: int, next_record: int, generation: int) -> None:
        assert self.fd is not None  # noqa: S101 - only called with a file open
        stat = os.fstat(self.fd)
        old = self.checkpoint
        if old is not None and (old.device, old.inode, old.generation) == (
            stat.st_dev,
            stat.st_ino,
            generation,
        ):
            checkpoint = replace(old, offset=offset, next_record=next_record)
            if old.fingerprint_size < min(stat.st_size, FINGERPRINT_BYTES):
                digest, size = fingerprint(self.fd)
                checkpoint = replace(checkpoint, fingerprint=digest, fingerprint_size=size)
        else:
            digest, size = fingerprint(self.fd)
            checkpoint = Checkpoint(
                self.path, stat.st_dev, stat.st_ino, offset, next_record, digest, size, generation
            )
        self.store.save(checkpoint)
        self.checkpoint = checkpoint
