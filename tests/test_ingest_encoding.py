"""Encodings at the edge of ingest: a UTF-8 byte-order mark opens a file, it is no content."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from vigil.ingest import Ingestor, import_file, parsers
from vigil.ingest.framing import frame
from vigil.store import Database, Lake

GOLDEN = Path(__file__).parent / "golden" / "ingest"


@pytest.mark.parametrize(
    ("data", "framing", "final", "records", "rest"),
    [
        (b'{"a":1}\n{"b":2}\n', "line", True, ['{"a":1}', '{"b":2}'], b""),
        (b'{"a":1}\n{"b"', "line", False, ['{"a":1}'], b'{"b"'),
        (b"{", "line", False, [], b"{"),
        (b"x = 1\n\ny = 2\n", "block", True, ["x = 1", "y = 2"], b""),
        (b"<a/>", "document", True, ["<a/>"], b""),
        (b"caf\xe9\nok\n", "line", True, ["caf\u00e9", "ok"], b""),
    ],
)
def test_a_byte_order_mark_is_not_part_of_the_first_record(
    data: bytes, framing: str, final: bool, records: list[str], rest: bytes
) -> None:
    framed = frame(codecs.BOM_UTF8 + data, framing, final)  # type: ignore[arg-type]
    assert (framed.text.to_list(), framed.rest) == (records, rest)


def test_a_file_with_a_byte_order_mark_gives_the_same_events(tmp_path: Path) -> None:
    source = GOLDEN / "vigil_door" / "input"
    marked = tmp_path / "door.jsonl"
    marked.write_bytes(codecs.BOM_UTF8 + source.read_bytes())
    reports = []
    for number, path in enumerate((source, marked)):
        database = Database.open(f"sqlite:///{tmp_path / f'{number}.db'}")
        ingestor = Ingestor(Lake(tmp_path / f"lake{number}"), database)
        reports.append(import_file(path, parsers.get("vigil_door")(), ingestor))
        database.close()
    plain, with_mark = reports
    assert plain.total_events > 0
    assert (with_mark.total_events, with_mark.rejected) == (plain.total_events, plain.rejected)
