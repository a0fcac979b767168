"""Event batches on the bus: Arrow IPC bytes, with the class in a header."""

from __future__ import annotations

import pyarrow as pa

from vigil.bus.types import BusError
from vigil.events import EventBatch, event_class
from vigil.events.errors import EventError

CLASS_HEADER = "Vigil-Event-Class"


def encode_batch(batch: EventBatch) -> tuple[bytes, dict[str, str]]:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, batch.table.schema) as writer:
        writer.write_table(batch.table)
    return sink.getvalue().to_pybytes(), {CLASS_HEADER: str(batch.event_class.CLASS_UID)}


def decode_batch(data: bytes, headers: dict[str, str]) -> EventBatch:
    try:
        cls = event_class(int(headers[CLASS_HEADER]))
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
        return EventBatch(cls, table)
    except KeyError as error:
        raise BusError(f"message has no {CLASS_HEADER} header") from error
    except (ValueError, pa.ArrowInvalid, EventError) as error:
        raise BusError(f"message is not an event batch: {error}") from error
