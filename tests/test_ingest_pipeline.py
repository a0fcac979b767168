"""The ingest pipeline: framing, card-number masking, storage, dead letters, batch import."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from vigil.cli import app
from vigil.cli_ingest import _size
from vigil.ingest import Ingestor, RawRecords, import_path, ingest_status, parsers
from vigil.ingest.files import detect_bytes
from vigil.ingest.framing import frame
from vigil.ingest.pan import luhn_ok, mask_pans, mask_text
from vigil.ingest.types import UnknownFormatError
from vigil.store import Database, Lake
from vigil.store.models import DeadLetter, IngestSource

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
    status = ingest_status(database)
    letters, sources = status.letters, status.sources
    assert [(letter.position, letter.source) for letter in letters] == [("line 4", "test")]
    assert letters[0].reason.startswith("zeek_conn: expected 14 tab-separated")
    assert (sources[0].records, sources[0].events, sources[0].rejected) == (8, 4, 2)
    assert status.dead_letters == {"test": 1}


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
    assert "5555 55** **** 4444" in ingest_status(database).letters[0].raw


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
    letters = ingest_status(database).letters
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


GOLDEN = Path(__file__).resolve().parent / "golden" / "ingest"


def _conn_log(lines: int) -> bytes:
    return (HEADER + "\n".join(conn_line(n) for n in range(lines)) + "\nbad\n").encode()


@pytest.mark.parametrize(
    ("name", "content", "chunk_bytes", "steps"),
    [
        ("conn.log", _conn_log(200), 4096, 5),
        ("conn.log.gz", gzip.compress(_conn_log(4000), mtime=0), 65536, 2),
        ("notes.txt", b"hello\nworld\n", 4096, 1),
        ("empty.log", b"", 4096, 0),
        ("poslog.xml", (GOLDEN / "arts_poslog" / "input").read_bytes(), 4096, 1),
        ("poslog.xml.gz", gzip.compress((GOLDEN / "arts_poslog" / "input").read_bytes()), 64, 1),
    ],
)
def test_progress_adds_up_to_the_bytes_on_disk(
    store: tuple[Lake, Database],
    tmp_path: Path,
    name: str,
    content: bytes,
    chunk_bytes: int,
    steps: int,
) -> None:
    """The bar's total is the files' size on disk; what import advances it by adds up to
    exactly that: compressed bytes for .gz, the whole size of a file it cannot read."""
    lake, database = store
    path = tmp_path / name
    path.write_bytes(content)
    fmt = "arts_poslog" if name.startswith("poslog") else None
    advanced: list[int] = []
    report = import_path(path, Ingestor(lake, database), fmt, advanced.append, chunk_bytes)
    assert sum(advanced) == _size(path) == len(content)
    assert len([step for step in advanced if step > 0]) >= steps
    assert all(step >= 0 for step in advanced)
    if name.startswith("conn"):
        assert report.total.rejected == 1


def test_progress_of_a_folder_skips_what_the_import_skips(
    store: tuple[Lake, Database], tmp_path: Path
) -> None:
    lake, database = store
    (tmp_path / "logs" / ".hidden").mkdir(parents=True)
    (tmp_path / "logs" / ".hidden" / "conn.log").write_bytes(_conn_log(50))
    (tmp_path / "logs" / "conn.log.gz").write_bytes(gzip.compress(_conn_log(300)))
    (tmp_path / "logs" / "notes.txt").write_text("not a log\n")
    advanced: list[int] = []
    import_path(tmp_path / "logs", Ingestor(lake, database), None, advanced.append, 1024)
    on_disk = [tmp_path / "logs" / "conn.log.gz", tmp_path / "logs" / "notes.txt"]
    assert sum(advanced) == _size(tmp_path / "logs") == sum(f.stat().st_size for f in on_disk)


def _rows(output: str, header: str) -> list[list[str]]:
    """The cells of each row of the table whose header line holds `header`."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if header in line)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("│"):
            break
        rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows


def test_cli_ingest_status_shows_every_counter_and_the_dead_letters(tmp_path: Path) -> None:
    data = tmp_path / "data"
    runner = CliRunner(env={"COLUMNS": "250"})
    assert runner.invoke(app, ["init", "--data", str(data)]).exit_code == 0
    card = CONN([*conn_line(2).split("\t")[:7], "4111111111111111", *conn_line(2).split("\t")[8:]])
    bad = [f"bad {n}" for n in range(12)]
    log = tmp_path / "conn.log"
    log.write_bytes(
        (HEADER + conn_line(1) + "\n" + card + "\n" + "\n".join(bad) + "\n").encode()
        + b"caf\xe9 [bold]\x1b[31m\n"
    )
    result = runner.invoke(app, ["ingest", str(log), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert "2 events (network_activity 2), 13 rejected, 3 skipped, 1 card numbers masked" in (
        result.output
    )
    database = Database.open(f"sqlite:///{data / 'vigil.db'}")
    with database.session() as session:  # what a connector lost, and a late row of detection
        session.get_one(IngestSource, f"file:{log.resolve()}").dropped = 4
        session.add(
            DeadLetter(
                at=datetime.now(UTC),
                source="detect:network_activity",
                position="2026-11-21T10:00:00",
                reason="arrived 3 h after the watermark",
                raw="{}",
            )
        )
    database.close()

    status = runner.invoke(app, ["ingest", "status", "--data", str(data)])
    assert status.exit_code == 0, status.output
    assert [cells[:10] for cells in _rows(status.output, "PANs masked")] == [
        [f"file:{log.resolve()}", "zeek_conn", "18", "2", "13", "13", "3", "1", "1", "4"],
    ]
    assert "Detection refused 1 late row(s), kept as dead letters: detect:network_activity 1" in (
        status.output
    )
    letters = _rows(status.output, "position")
    assert "Latest dead letters (10 of 13)" in status.output
    assert [cells[2] for cells in letters] == [f"line {n}" for n in range(18, 8, -1)]
    assert letters[0][1:] == [
        f"file:{log.resolve()}",
        "line 18",
        "zeek_conn: expected 14 tab-separated Zeek fields, found a different number",
        "caf\u00e9 [bold]\\x1b[31m",
    ]
    assert letters[1][4] == "bad 11"

    late = runner.invoke(
        app, ["ingest", "status", "--data", str(data), "--source", "detect:", "--limit", "5"]
    )
    assert [cells[1:] for cells in _rows(late.output, "position")] == [
        ["detect:network_activity", "2026-11-21T10:00:00", "arrived 3 h after the watermark", "{}"]
    ]
    two = runner.invoke(app, ["ingest", "status", "--data", str(data), "-s", "conn", "-n", "2"])
    assert [cells[2] for cells in _rows(two.output, "position")] == ["line 18", "line 17"]
    assert "Latest dead letters (2 of 13, sources like 'conn')" in two.output
    none = runner.invoke(app, ["ingest", "status", "--data", str(data), "-s", "nope"])
    assert "No dead letters from a source like 'nope'." in none.output
    misplaced = runner.invoke(app, ["ingest", str(log), "--data", str(data), "-s", "x"])
    assert misplaced.exit_code == 1
    assert "--source is for `vigil ingest status`" in misplaced.output


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
