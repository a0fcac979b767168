"""The ingest pipeline: framing, card-number masking, storage, dead letters, batch import."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.ingest import Ingestor, RawRecords, import_path, ingest_status, parsers
from vigil.ingest.files import detect_bytes
from vigil.ingest.framing import frame
from vigil.ingest.pan import luhn_ok, mask_pans, mask_text
from vigil.ingest.types import UnknownFormatError
from vigil.store import Database, Lake

CONN = "\t".join
HEADER = (
    "#separator \\x09\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t"
    "orig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n"
)


def conn_line(number: int, store_octet: int = 11) -> str:
    return CONN(
        [
            f"{1795420800 + number}.25",
            f"C{number:08d}",
            f"10.0.{store_octet}.{number % 200 + 1}",
            str(40000 + number % 1000),
            "10.0.10.5",
            "8443",
            "tcp",
            "ssl",
            "0.5",
            "700",
            "1800",
            "SF",
            "2",
            "2",
        ]
    )


@pytest.fixture
def store(tmp_path: Path) -> tuple[Lake, Database]:
    database = Database.open(f"sqlite:///{tmp_path / 'vigil.db'}")
    yield Lake(tmp_path / "lake"), database
    database.close()


@pytest.mark.parametrize(
    ("data", "framing", "final", "records", "rest", "recoded"),
    [
        (b"a\nb\r\n\nc", "line", True, ["a", "b", "", "c"], b"", 0),
        (b"a\nb\r\n\nc", "line", False, ["a", "b", ""], b"c", 0),
        (b"a\n", "line", True, ["a"], b"", 0),
        (b"", "line", True, [], b"", 0),
        (b"caf\xe9\nok\n", "line", True, ["caf\u00e9", "ok"], b"", 1),
        (b"x\n\ty\n\nz\n\t w\n\n\nq", "block", False, ["x\n\ty", "z\n\t w"], b"q", 0),
        (b"x\n\ty\n\nz\n\t w\n\n\nq", "block", True, ["x\n\ty", "z\n\t w", "q"], b"", 0),
        (b"<a/>\n<b/>", "document", False, ["<a/>\n<b/>"], b"", 0),
    ],
)
def test_framing(
    data: bytes, framing: str, final: bool, records: list[str], rest: bytes, recoded: int
) -> None:
    framed = frame(data, framing, final)  # type: ignore[arg-type]
    assert (framed.text.to_list(), framed.rest, framed.recoded) == (records, rest, recoded)


@pytest.mark.parametrize(
    ("text", "masked", "count"),
    [
        ("card 4111 1111 1111 1111 ok", "card 4111 11** **** 1111 ok", 1),
        ("pan=4111111111111111&x=1", "pan=411111******1111&x=1", 1),
        ("5500-0000-0000-0004;", "5500-00**-****-0004;", 1),
        ('{"pan":378282246310005}', '{"pan":378282*****0005}', 1),
        ("eventtime=1795420802479221000", "eventtime=1795420802479221000", 0),
        ("n=4111111111111112 fails Luhn", "n=4111111111111112 fails Luhn", 0),
        ("x=41111111111111111111 too long", "x=41111111111111111111 too long", 0),
        (
            "two 4111111111111111 and 5555555555554444",
            "two 411111******1111 and 555555******4444",
            2,
        ),
    ],
)
def test_card_numbers_are_masked(text: str, masked: str, count: int) -> None:
    assert mask_text(text) == (masked, count)
    series, total = mask_pans(pl.Series([text, "nothing here"]))
    assert (series.to_list(), total) == ([masked, "nothing here"], count)


def test_luhn() -> None:
    assert luhn_ok("79927398713")
    assert not luhn_ok("79927398710")


def _count(lake: Lake, sql: str) -> int:
    return int(lake.query(sql).rows[0][0])  # type: ignore[call-overload]


def test_a_batch_replayed_is_stored_once(store: tuple[Lake, Database]) -> None:
    lake, database = store
    ingestor = Ingestor(lake, database)
    records = RawRecords.of("test", [HEADER.splitlines()[2], conn_line(1), conn_line(2), "junk"])
    parser = parsers.get("zeek_conn")()
    first = ingestor.ingest(records, parser, batch_id="src@0")
    again = ingestor.ingest(records, parser, batch_id="src@0")
    assert first.events == again.events == {"network_activity": 2}
    assert _count(lake, "SELECT count(*) FROM network_activity") == 2
    sources, letters = ingest_status(database)
    assert [(letter.position, letter.source) for letter in letters] == [("line 4", "test")]
    assert letters[0].reason.startswith("zeek_conn: expected 14 tab-separated")
    assert (sources[0].records, sources[0].events, sources[0].rejected) == (8, 4, 2)


def test_card_numbers_never_reach_the_lake_or_the_dead_letters(
    store: tuple[Lake, Database],
) -> None:
    lake, database = store
    good = json.dumps(
        {
            "ts": 1795420801.5,
            "uid": "Cpan",
            "id.orig_h": "10.0.11.3",
            "id.orig_p": 5000,
            "id.resp_h": "203.0.113.9",
            "id.resp_p": 443,
            "proto": "tcp",
            "service": "note 4111-1111-1111-1111",
            "conn_state": "SF",
        }
    )
    bad = '{"ts": "broken 5555 5555 5555 4444"'
    report = Ingestor(lake, database).ingest(
        RawRecords.of("pan", [good, bad]), parsers.get("zeek_conn")(), "pan@0"
    )
    assert (report.pans_masked, report.rejected) == (2, 1)
    stored = lake.query("SELECT app_name FROM network_activity").rows
    assert stored == [("note 4111-11**-****-1111",)]
    _, letters = ingest_status(database)
    assert "5555 55** **** 4444" in letters[0].raw


def test_folder_import_detects_formats_and_is_idempotent(
    store: tuple[Lake, Database], tmp_path: Path
) -> None:
    lake, database = store
    folder = tmp_path / "logs"
    folder.mkdir()
    lines = [conn_line(n, store_octet=11 + n % 3) for n in range(500)]
    (folder / "conn.log").write_text(
        HEADER + "\n".join(lines[:250]) + "\nbad\n" + "\n".join(lines[250:]) + "\n"
    )
    (folder / "notes.txt").write_text("hello\nworld\n")
    ingestor = Ingestor(lake, database)
    report = import_path(folder, ingestor, chunk_bytes=4096)
    assert list(report.unrecognised) == [str(folder / "notes.txt")]
    conn = report.files[str(folder / "conn.log")]
    assert (conn.format, conn.total_events, conn.rejected) == ("zeek_conn", 500, 1)
    import_path(folder / "conn.log", ingestor, "zeek_conn", chunk_bytes=1 << 20)
    assert _count(lake, 'SELECT count(DISTINCT "metadata.uid") FROM network_activity') == 500
    _, letters = ingest_status(database)
    assert {letter.position for letter in letters} == {f"line {4 + 250}"}


def test_chunk_size_does_not_change_what_is_stored(tmp_path: Path) -> None:
    path = tmp_path / "conn.log"
    path.write_text(HEADER + "\n".join(conn_line(n) for n in range(300)) + "\n")
    tables = []
    for size in (256, 1 << 20):
        database = Database.open(f"sqlite:///{tmp_path / f'{size}.db'}")
        lake = Lake(tmp_path / f"lake-{size}")
        import_path(path, Ingestor(lake, database), chunk_bytes=size)
        tables.append(lake.query('SELECT * FROM network_activity ORDER BY "metadata.uid"').rows)
        database.close()
    assert tables[0] == tables[1]
    assert len(tables[0]) == 300


def test_unknown_format_is_a_clear_error() -> None:
    with pytest.raises(UnknownFormatError, match="format not recognised"):
        detect_bytes(b"just some text\n", "notes.txt")
    assert detect_bytes(HEADER.encode() + conn_line(1).encode() + b"\n") == "zeek_conn"


def test_cli_ingest_status_and_formats(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner()
    assert runner.invoke(app, ["init", "--data", str(data)]).exit_code == 0
    log = tmp_path / "conn.log"
    log.write_text(HEADER + conn_line(1) + "\nnot zeek\n")
    result = runner.invoke(app, ["ingest", str(log), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "1 events (network_activity 1), 1 rejected" in result.output
    status = runner.invoke(app, ["ingest", "status", "--data", str(data)])
    assert status.exit_code == 0
    assert "line 5" in status.output
    formats = runner.invoke(app, ["ingest", "formats"])
    assert "zeek_conn" in formats.output
    wrong = runner.invoke(app, ["ingest", str(log), "--format", "nope", "--data", str(data)])
    assert wrong.exit_code == 1
    assert "unknown format 'nope'" in wrong.output
