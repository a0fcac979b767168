"""EventBatch: the typed thing that moves between stages, one class per batch."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
from pydantic import ValidationError

from vigil.events.base import OcsfEvent
from vigil.events.columns import arrow_schema, complete_identity, conform, from_table, to_table
from vigil.events.errors import EventError, InvalidEventError
from vigil.events.registry import event_class as lookup_class


@dataclass(frozen=True)
class EventBatch:
    """Events of one OCSF class as an Arrow table with the class's flattened schema."""

    event_class: type[OcsfEvent]
    table: pa.Table

    def __post_init__(self) -> None:
        table = self.table
        if table.schema != arrow_schema(self.event_class):
            table = conform(table, self.event_class)
        object.__setattr__(self, "table", complete_identity(table, self.event_class))

    def __len__(self) -> int:
        return int(self.table.num_rows)

    @classmethod
    def from_events(
        cls, events: Sequence[OcsfEvent], event_class: type[OcsfEvent] | None = None
    ) -> EventBatch:
        """A batch of typed events; all must be of one class."""
        if event_class is None:
            if not events:
                raise InvalidEventError("an empty batch needs its event class")
            event_class = type(events[0])
        return cls(event_class, to_table(events, event_class))

    def events(self) -> list[OcsfEvent]:
        """The typed events back, validated."""
        return from_table(self.table, self.event_class)


@dataclass(frozen=True)
class RejectedEvent:
    """An input that could not become an event, with where it was and why."""

    index: int
    reason: str
    raw: str


def parse_event(document: dict[str, object]) -> OcsfEvent:
    """Validate one OCSF JSON object into its class's model, chosen by `class_uid`."""
    class_uid = document.get("class_uid")
    if not isinstance(class_uid, int) or isinstance(class_uid, bool):
        raise InvalidEventError("missing or non-integer class_uid")
    model = lookup_class(class_uid)
    return model.model_validate(document)


@dataclass(frozen=True)
class ParsedLines:
    """Events of JSON lines, one batch per class, and the lines that were refused."""

    batches: list[EventBatch]
    rejected: list[RejectedEvent]


def unknown_to_unmapped(document: dict[str, object]) -> dict[str, object]:
    """OCSF's rule for attributes a class does not define: keep them under `unmapped`."""
    class_uid = document.get("class_uid")
    if not isinstance(class_uid, int) or isinstance(class_uid, bool):
        return document
    model = lookup_class(class_uid)
    known = {info.alias or name for name, info in model.model_fields.items()}
    extra = {key: value for key, value in document.items() if key not in known}
    if not extra:
        return document
    kept = {key: value for key, value in document.items() if key in known}
    unmapped = kept.get("unmapped")
    kept["unmapped"] = {**(unmapped if isinstance(unmapped, dict) else {}), **extra}
    return kept


def batches_from_json_lines(lines: Iterable[str], lenient: bool = False) -> ParsedLines:
    """Group OCSF JSON lines into one batch per class; bad lines are returned, not raised.

    `lenient` keeps top-level attributes the class does not define under `unmapped`
    (OCSF's rule for producers' extras) instead of rejecting the event.
    """
    by_class: dict[type[OcsfEvent], list[tuple[int, str, OcsfEvent]]] = {}
    rejected: list[RejectedEvent] = []
    for index, line in enumerate(lines):
        text = line.strip()
        if not text:
            continue
        try:
            document = json.loads(text)
            if not isinstance(document, dict):
                raise InvalidEventError("not a JSON object")
            if lenient:
                document = unknown_to_unmapped(document)
            event = parse_event(document)
        except (json.JSONDecodeError, EventError, ValidationError) as error:
            rejected.append(RejectedEvent(index, _reason(error), text))
            continue
        by_class.setdefault(type(event), []).append((index, text, event))
    batches = []
    for cls, entries in by_class.items():
        batch = _batch_or_reject(cls, entries, rejected)
        if batch is not None:
            batches.append(batch)
    rejected.sort(key=lambda item: item.index)
    return ParsedLines(batches, rejected)


_UNSTORABLE = (pa.ArrowException, OverflowError, UnicodeError, TypeError, ValueError)


def _batch_or_reject(
    cls: type[OcsfEvent], entries: list[tuple[int, str, OcsfEvent]], rejected: list[RejectedEvent]
) -> EventBatch | None:
    """One batch for the class; when Arrow refuses it, find and reject the rows to blame."""
    try:
        return EventBatch.from_events([event for _, _, event in entries], cls)
    except _UNSTORABLE:
        pass
    kept = []
    for index, text, event in entries:
        try:
            to_table([event], cls)
        except _UNSTORABLE as error:
            rejected.append(RejectedEvent(index, f"cannot be stored: {error}", text))
            continue
        kept.append(event)
    return EventBatch.from_events(kept, cls) if kept else None


def _reason(error: Exception) -> str:
    if isinstance(error, ValidationError):
        problems = [
            f"{'.'.join(str(part) for part in item['loc']) or '(event)'}: {item['msg']}"
            for item in error.errors()
        ]
        return "; ".join(problems)
    return str(error)
