"""The file tailer: follow log files as they grow, with checkpoints, exactly once.

    connectors:
      - type: tail
        name: zeek
        format: zeek_conn
        paths: ["/var/log/zeek/current/conn.log"]

The connector polls every path and glob match of its source (`Tailer`), one
`vigil.ingest.follow.Follower` per file; the follower reads whole records from
its checkpoint, ingests them under a batch id made of path, generation and
offset, then moves the checkpoint, and follows rotation and truncation. See
`vigil.ingest.follow` for how that gives each record exactly once across crashes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Sequence
from glob import glob
from pathlib import Path
from typing import Literal

from pydantic import Field

from vigil.ingest.checkpoint import CheckpointStore
from vigil.ingest.connectors.base import Connector, ConnectorConfig, connectors
from vigil.ingest.follow import (
    CHUNKS_PER_POLL,
    HEADER_BYTES,
    MAX_RECORD_BYTES,
    READ_BYTES,
    Chunk,
    Follower,
    cut_records,
)
from vigil.ingest.parsers import parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor

logger = logging.getLogger(__name__)

__all__ = [
    "CHUNKS_PER_POLL",
    "HEADER_BYTES",
    "MAX_RECORD_BYTES",
    "READ_BYTES",
    "Chunk",
    "Follower",
    "TailConfig",
    "TailConnector",
    "Tailer",
    "cut_records",
]


class TailConfig(ConnectorConfig):
    """Follow files as they grow; `batch_records` bounds a chunk, `batch_seconds` is unused."""

    type: Literal["tail"] = Field(description="Which connector.")
    paths: list[str] = Field(
        min_length=1,
        description="Files to follow: paths or glob patterns (`/var/log/zeek/*.log`). A pattern"
        " must not match rotated names (`conn.log.1`), or rotated files are read twice.",
    )
    poll_seconds: float = Field(default=1.0, gt=0, description="Pause between looks at the files.")
    idle_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long an unterminated last record must stay unchanged before it is taken.",
    )
    start_at: Literal["beginning", "end"] = Field(
        default="beginning",
        description="Where to start in files that exist at start-up and were never read before;"
        " files that appear later are always read from the beginning.",
    )
    checkpoints: Path | None = Field(
        default=None,
        description="Folder of the checkpoints (relative to the data folder);"
        " default `<data>/checkpoints`.",
    )


class Tailer:
    """Every path and glob match of a source, polled in turn (synchronous; see `TailConnector`)."""

    def __init__(
        self,
        patterns: Sequence[str],
        format_name: str,
        ingestor: Ingestor,
        store: CheckpointStore,
        *,
        start_at: Literal["beginning", "end"] = "beginning",
        max_records: int = 5000,
        idle_seconds: float = 5.0,
        read_bytes: int = READ_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        parsers.get(format_name)  # fail at start-up on an unknown format
        self.patterns = [os.path.abspath(pattern) for pattern in patterns]
        self.format_name = format_name
        self.ingestor = ingestor
        self.store = store
        self.start_at = start_at
        self.max_records = max_records
        self.idle_seconds = idle_seconds
        self.read_bytes = read_bytes
        self.clock = clock
        self.followers: dict[str, Follower] = {}
        self._scanned = False

    def scan(self) -> None:
        """Start following paths that match now and were not followed yet."""
        for path in self._paths():
            if path not in self.followers:
                self.followers[path] = Follower(
                    path,
                    self.format_name,
                    self.ingestor,
                    self.store,
                    start_at_end=self.start_at == "end" and not self._scanned,
                    max_records=self.max_records,
                    idle_seconds=self.idle_seconds,
                    read_bytes=self.read_bytes,
                    clock=self.clock,
                )
        self._scanned = True

    def _paths(self) -> list[str]:
        found: list[str] = []
        for pattern in self.patterns:
            if any(char in pattern for char in "*?["):
                found.extend(path for path in sorted(glob(pattern)) if os.path.isfile(path))
            else:
                found.append(pattern)
        return found

    def poll(self) -> int:
        """Ingest what is new in every file; returns the number of records stored.

        A file that fails (storage down, unreadable) is logged and retried from its
        checkpoint on the next poll; the others go on.
        """
        self.scan()
        count = 0
        for follower in self.followers.values():
            try:
                count += follower.poll()
            except Exception:  # one failing file must not stop the others; retried next poll
                logger.exception("%s: tailing failed; retrying from the checkpoint", follower.path)
                follower.close()
        return count

    def close(self) -> None:
        for follower in self.followers.values():
            follower.close()


# Connector is invariant in its config type, so no subclass matches the registry's
# `Connector[ConnectorConfig]` exactly; the config model is checked by `config_model`.
@connectors.register("tail")  # type: ignore[arg-type]
class TailConnector(Connector[TailConfig]):
    """Follows files as they grow; see the module docstring."""

    config_model = TailConfig

    def __init__(
        self,
        config: TailConfig,
        ingestor: Ingestor,
        data_dir: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(config, ingestor)
        data = data_dir if data_dir is not None else ingestor.lake.root.parent
        folder = data / config.checkpoints if config.checkpoints else data / "checkpoints"
        self.tailer = Tailer(
            config.paths,
            config.format,
            ingestor,
            CheckpointStore(folder),
            start_at=config.start_at,
            max_records=config.batch_records,
            idle_seconds=config.idle_seconds,
            clock=clock,
        )

    def reports(self) -> list[ChunkReport]:
        """The running counts of each file stored since start-up (one source per file)."""
        return [f.report for f in self.tailer.followers.values() if f.report.records]

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop`; what was ingested is checkpointed, so nothing is left to flush."""
        try:
            while not stop.is_set():
                stored = await asyncio.to_thread(self.tailer.poll)
                if stored:
                    continue  # more may be waiting: look again at once
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.config.poll_seconds)
        finally:
            self.tailer.close()
