"""Where a tailer is in each file it follows, kept on disk so a restart resumes there.

    store = CheckpointStore(data_dir / "checkpoints")
    store.save(Checkpoint("/var/log/zeek/conn.log", device, inode, offset=4096, ...))
    store.load("/var/log/zeek/conn.log")

One small JSON file per followed path, written atomically (temporary file, fsync,
rename, fsync of the folder), so a crash leaves either the old checkpoint or the
new one, never half of one. A checkpoint names the file by device and inode and
by a fingerprint of its first bytes: an inode reused by a different file after a
deletion has the same number but other first bytes, and is read from the start.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from vigil.ingest.types import IngestError

logger = logging.getLogger(__name__)

FINGERPRINT_BYTES = 1024
"""How many of a file's first bytes identify it (fewer while the file is shorter)."""


class CheckpointError(IngestError):
    """A checkpoint could not be written."""


@dataclass(frozen=True)
class Checkpoint:
    """How far one path has been ingested, and which file the path named then.

    `generation` counts the files the path has named (rotation, truncation): it is
    part of every batch id, so the first chunk of a new file never replaces the
    first chunk of the file it rotated from.
    """

    path: str
    device: int
    inode: int
    offset: int
    next_record: int
    fingerprint: str
    fingerprint_size: int
    generation: int = 0


def fingerprint(fd: int) -> tuple[str, int]:
    """Hash and length of the first bytes of an open file."""
    head = os.pread(fd, FINGERPRINT_BYTES, 0)
    return hashlib.sha256(head).hexdigest(), len(head)


def same_file(fd: int, checkpoint: Checkpoint) -> bool:
    """Whether an open file starts with the bytes the checkpoint's file started with."""
    head = os.pread(fd, checkpoint.fingerprint_size, 0)
    return (
        len(head) == checkpoint.fingerprint_size
        and hashlib.sha256(head).hexdigest() == checkpoint.fingerprint
    )


class CheckpointStore:
    """Checkpoints in one folder, one JSON file per path."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def location(self, path: str) -> Path:
        digest = hashlib.sha256(path.encode()).hexdigest()[:24]
        return self.folder / f"{digest}.json"

    def load(self, path: str) -> Checkpoint | None:
        """The checkpoint of a path, or None if it has none (or an unreadable one)."""
        location = self.location(path)
        try:
            data = json.loads(location.read_text())
            checkpoint = Checkpoint(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as error:
            logger.warning("ignoring unreadable checkpoint %s: %s", location, error)
            return None
        if checkpoint.path != path:  # a hash collision; never seen, but never trusted
            return None
        return checkpoint

    def save(self, checkpoint: Checkpoint) -> None:
        """Write atomically: a crash leaves the old checkpoint or the new one."""
        location = self.location(checkpoint.path)
        temporary = location.with_name(f".{location.name}.tmp-{os.getpid()}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with temporary.open("w") as handle:
                json.dump(asdict(checkpoint), handle)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(location)
            folder = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise CheckpointError(
                f"cannot write checkpoint {location}: {error.strerror or error}"
            ) from error
