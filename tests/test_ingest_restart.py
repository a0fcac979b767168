"""`vigil ingest FILE` killed in the middle of a file and run again: every record once.

The import runs as the real command in its own process and is killed with SIGKILL
twice, each time just after it has stored one more chunk of the file than
the time before (with a random few milliseconds more, so some kills land inside a
chunk's writes), then run to the end. Each chunk is stored under the file's path
and byte offset, so the runs after a kill replace what the killed one stored.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vigil.store import Database, Lake
from vigil.store.models import DeadLetter

HEADER = (
    "#separator \\x09\n#path\tconn\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    "\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n"
)
LINES = 250_000
"""About 28 MB: four of the importer's 8 MB chunks."""
BAD_EVERY = 12_000
VIGIL = str(Path(sys.executable).with_name("vigil"))


def _write(path: Path) -> int:
    """The conn.log, with a bad line every `BAD_EVERY` lines; how many bad lines."""
    rows = []
    for number in range(LINES):
        ts = 1795420800 + (number % 3) * 86400 + number
        rows.append(
            f"{ts}.25\tR{number:017d}\t10.0.11.{number % 250}\t{40000 + number % 20000}"
            "\t10.0.10.5\t8443\ttcp\tssl\t0.5\t100\t200\tSF\t2\t2\n"
        )
        if number % BAD_EVERY == 0:
            rows.append(f"not a zeek line {number}\n")
    path.write_text(HEADER + "".join(rows))
    return LINES // BAD_EVERY + (1 if LINES % BAD_EVERY else 0)


def _chunks_stored(lake: Path) -> int:
    return len({part.name for part in lake.rglob("part-*.parquet")})


@pytest.mark.slow
def test_an_import_killed_mid_file_and_run_again_stores_every_record_once(
    tmp_path: Path,
) -> None:
    data, log = tmp_path / "data", tmp_path / "conn.log"
    subprocess.run([VIGIL, "init", "--data", str(data)], check=True, capture_output=True)
    bad_lines = _write(log)
    command = [VIGIL, "ingest", str(log), "--format", "zeek_conn", "--data", str(data)]
    rng = random.Random(20261202)
    errors = tmp_path / "errors.txt"
    for kill_after in (1, 2):
        with errors.open("ab") as sink:
            child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
        deadline = time.monotonic() + 120
        while _chunks_stored(data / "lake") < kill_after and time.monotonic() < deadline:
            assert child.poll() is None, errors.read_text()
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        assert child.poll() is None, "the import finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        assert child.wait() == -signal.SIGKILL
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr

    rows = (
        Lake(data / "lake")
        .query('SELECT count(*), count(DISTINCT "metadata.uid") FROM network_activity')
        .rows
    )
    assert rows == [(LINES, LINES)]
    database = Database.open(f"sqlite:///{data / 'vigil.db'}")
    with database.session() as session:
        letters = session.scalar(select(func.count()).select_from(DeadLetter))
        distinct = session.scalar(select(func.count(func.distinct(DeadLetter.raw))))
    database.close()
    assert (letters, distinct) == (bad_lines, bad_lines)
