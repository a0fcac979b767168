"""Handing video events to ingest: OCSF JSON lines in a file that ingest follows.

    with EventLog(Path("/var/lib/vigil/video/events.ndjson")) as log:
        VideoRuntime(cameras, estate, on_events=log.write).run()

Video never imports ingest (DESIGN.md). It writes each `VideoObservation` as one
OCSF JSON line, whole lines only, flushed per batch; ingest reads them as raw
records with the `ocsf_json` parser, either once (`vigil ingest events.ndjson`) or
continuously with the `tail` connector, which checkpoints its offset so each event
is stored once:

    connectors:
      - type: tail
        name: video
        format: ocsf_json
        paths: ["/var/lib/vigil/video/events.ndjson"]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from vigil.events import VideoObservation
from vigil.video.errors import VideoError


class EventLogError(VideoError):
    """The events file cannot be opened or written."""


class EventLog:
    """Appends events as OCSF JSON lines and counts them by activity."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: TextIO = path.open("a", encoding="utf-8")
        except OSError as error:
            raise EventLogError(f"cannot open {path}: {error.strerror}") from error

    def write(self, events: Sequence[VideoObservation]) -> None:
        """Append the events, one line each, and flush (ingest sees whole lines only)."""
        if not events:
            return
        lines = "".join(
            event.model_dump_json(by_alias=True, exclude_none=True) + "\n" for event in events
        )
        try:
            self._file.write(lines)
            self._file.flush()
        except OSError as error:
            raise EventLogError(f"cannot write {self.path}: {error.strerror}") from error
        self.counts.update(event.activity_name or str(event.activity_id) for event in events)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
