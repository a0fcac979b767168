"""The file tailer: growth, partial records, rotation, truncation, checkpoints, crashes.

Every check ends with the lake itself: each Zeek `uid` written to the followed
files must be stored exactly once, and each bad line must be a dead letter once.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from vigil.ingest.checkpoint import Checkpoint, CheckpointStore
from vigil.ingest.connectors import connectors
from vigil.ingest.connectors.tail import TailConfig, TailConnector, Tailer, cut_records
from vigil.ingest.pipeline import Ingestor
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake
from vigil.store.models import DeadLetter, IngestSource

HEADER = (
    "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"
    "#open\t2026-11-23-08-00-00\n"
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"
    "\torig_bytes\tresp_bytes\tconn_state\torig_pkts\tresp_pkts\n"
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount"
    "\tstring\tcount\tcount\n"
)
DAY = 86400


def conn(number: int, tag: str = "C") -> str:
    """One conn.log line with a unique uid; numbers spread over three days."""
    ts = 1795420800 + (number % 3) * DAY + number
    return (
        f"{ts}.25\t{tag}{number:017d}\t10.0.11.{number % 250}\t{40000 + number % 20000}"
        f"\t10.0.10.5\t8443\ttcp\tssl\t0.5\t100\t200\tSF\t2\t2\n"
    )


def bad(number: int) -> str:
    return f"not a zeek line {number}\n"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Env:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.lake = Lake(root / "lake")
        self.database = Database.open(sqlite_url(root))
        self.ingestor = Ingestor(self.lake, self.database)
        self.store = CheckpointStore(root / "checkpoints")
        self.clock = FakeClock()

    def tailer(self, *patterns: Path | str, **options: object) -> Tailer:
        return Tailer(
            [str(pattern) for pattern in patterns],
            "zeek_conn",
            self.ingestor,
            self.store,
            clock=self.clock,
            idle_seconds=1.0,
            **options,  # type: ignore[arg-type]
        )

    def uids(self) -> tuple[int, int]:
        rows = self.lake.query(
            'SELECT count(*), count(DISTINCT "metadata.uid") FROM network_activity'
        ).rows
        return int(rows[0][0]), int(rows[0][1])  # type: ignore[call-overload]

    def dead_letters(self) -> tuple[int, int]:
        with self.database.session() as session:
            total = session.scalar(select(func.count()).select_from(DeadLetter)) or 0
            distinct = session.scalar(select(func.count(func.distinct(DeadLetter.raw)))) or 0
        return total, distinct


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def write(path: Path, text: str) -> None:
    with path.open("a") as handle:
        handle.write(text)


def lines(start: int, stop: int, tag: str = "C") -> str:
    return "".join(conn(number, tag) for number in range(start, stop))


@pytest.mark.parametrize(
    ("data", "framing", "most", "expected"),
    [
        (b"", "line", 10, (0, 0)),
        (b"abc", "line", 10, (0, 0)),
        (b"a\nb\nc", "line", 10, (4, 2)),
        (b"a\nb\nc\n", "line", 2, (4, 2)),
        (b"a\r\n\nb\n", "line", 10, (6, 3)),
        (b"a=1\nb=2\n\nc=3\n", "block", 10, (9, 1)),
        (b"a=1\n\n\n\nc=3\n\n", "block", 1, (7, 1)),
        (b"\n\n\na=1\n\n", "block", 10, (8, 1)),
        (b"a=1\n\nb=2\n\nc=3\n\n", "block", 2, (10, 2)),
    ],
)
def test_cut_records(data: bytes, framing: str, most: int, expected: tuple[int, int]) -> None:
    assert cut_records(data, framing, most) == expected  # type: ignore[arg-type]


def test_cut_records_is_monotone_in_the_bytes() -> None:
    """More bytes after the same start never give fewer records: the replay argument."""
    rng = random.Random(7)
    data = "".join(rng.choice(["ab\n", "c\n", "\n", "x"]) for _ in range(400)).encode()
    for framing in ("line", "block"):
        previous = (0, 0)
        for size in range(len(data) + 1):
            end, count = cut_records(data[:size], framing, 25)
            assert count >= previous[1]
            assert data[:end].startswith(data[: previous[0]])
            previous = (end, count)


def test_growth_and_a_partial_last_line(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    first_half = conn(3)[:30]
    write(log, HEADER + lines(0, 3) + first_half)
    tailer = env.tailer(log)
    assert tailer.poll() == len(HEADER.splitlines()) + 3
    assert env.uids() == (3, 3)
    assert tailer.poll() == 0  # the half line waits for its newline
    write(log, conn(3)[30:] + lines(4, 6))
    assert tailer.poll() == 3
    assert env.uids() == (6, 6)
    assert env.dead_letters() == (0, 0)


def test_an_unterminated_last_line_is_taken_once_idle(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 2) + conn(2).rstrip("\n"))
    tailer = env.tailer(log)
    tailer.poll()
    assert env.uids() == (2, 2)
    env.clock.now += 0.5
    assert tailer.poll() == 0
    env.clock.now += 0.6
    assert tailer.poll() == 1
    assert env.uids() == (3, 3)


def test_rotation_by_rename_finishes_the_old_file_first(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 5))
    tailer = env.tailer(log)
    tailer.poll()
    with log.open("a") as writer:  # the writer keeps its handle across the rename
        log.rename(tmp_path / "conn.log.1")
        write(log, HEADER + lines(100, 103, "N"))
        writer.write(lines(5, 8))
    tailer.poll()
    assert env.uids() == (11, 11)
    checkpoint = env.store.load(str(log))
    assert checkpoint is not None
    assert checkpoint.generation == 1
    assert checkpoint.inode == log.stat().st_ino


def test_rotation_while_stopped_finishes_the_renamed_file(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 5))
    env.tailer(log).poll()
    write(log, lines(5, 7))
    log.rename(tmp_path / "conn.log.1")
    write(log, HEADER + lines(100, 103, "N"))
    env.tailer(log).poll()
    assert env.uids() == (10, 10)


@pytest.mark.parametrize("longer", [False, True], ids=["shorter", "regrown-past-offset"])
def test_copytruncate_reads_the_file_again_from_the_start(
    env: Env, tmp_path: Path, longer: bool
) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 4))
    tailer = env.tailer(log)
    tailer.poll()
    inode = log.stat().st_ino
    with log.open("r+") as handle:
        handle.truncate(0)
    write(log, HEADER.replace("08-00-00", "09-00-00") + lines(100, 110 if longer else 101, "N"))
    assert log.stat().st_ino == inode
    tailer.poll()
    assert env.uids() == (14 if longer else 5, 14 if longer else 5)


def test_a_glob_picks_up_new_files(env: Env, tmp_path: Path) -> None:
    (tmp_path / "zeek").mkdir()
    write(tmp_path / "zeek" / "a.log", HEADER + lines(0, 3))
    tailer = env.tailer(tmp_path / "zeek" / "*.log")
    tailer.poll()
    write(tmp_path / "zeek" / "b.log", HEADER + lines(100, 102, "N"))
    write(tmp_path / "zeek" / "b.log.1", HEADER + lines(200, 202, "R"))  # not matched
    tailer.poll()
    assert env.uids() == (5, 5)


def test_start_at_end_skips_what_was_there_but_not_later_files(env: Env, tmp_path: Path) -> None:
    (tmp_path / "zeek").mkdir()
    old = tmp_path / "zeek" / "a.log"
    write(old, HEADER + lines(0, 3) + conn(3)[:20])
    tailer = env.tailer(tmp_path / "zeek" / "*.log", start_at="end")
    assert tailer.poll() == 0
    write(old, conn(3)[20:] + lines(4, 5))
    write(tmp_path / "zeek" / "b.log", HEADER + lines(100, 102, "N"))
    tailer.poll()
    # The line that was half written at start-up is taken whole; its number is right.
    assert env.uids() == (4, 4)
    checkpoint = env.store.load(str(old))
    assert checkpoint is not None
    assert checkpoint.next_record == len(HEADER.splitlines()) + 5 + 1


def test_a_reused_inode_is_noticed_by_its_fingerprint(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 4))
    stat = log.stat()
    # A checkpoint left by a deleted file whose inode the new file now has.
    other = Checkpoint(str(log), stat.st_dev, stat.st_ino, 300, 12, "0" * 64, 1024, 4)
    env.store.save(other)
    env.tailer(log).poll()
    assert env.uids() == (4, 4)
    checkpoint = env.store.load(str(log))
    assert checkpoint is not None
    assert checkpoint.generation == 5
    assert checkpoint.offset == stat.st_size


class Crash(BaseException):
    """Stands for the process dying: nothing catches it."""


class CrashingStore(CheckpointStore):
    def __init__(self, folder: Path, saves: int) -> None:
        super().__init__(folder)
        self.saves = saves

    def save(self, checkpoint: Checkpoint) -> None:
        if self.saves == 0:
            raise Crash
        self.saves -= 1
        super().save(checkpoint)


def test_a_chunk_replayed_after_growth_replaces_what_it_stored(env: Env, tmp_path: Path) -> None:
    """Crash after ingest, before the checkpoint; the file grows; the longer chunk
    from the same offset covers every partition of the first attempt (three days,
    dead letters included), so nothing is doubled."""
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 4) + bad(0) + lines(4, 6))
    crashing = Tailer(
        [str(log)], "zeek_conn", env.ingestor, CrashingStore(env.store.folder, saves=1)
    )  # saves the opening checkpoint, then dies after ingesting the first chunk
    with pytest.raises(Crash):
        crashing.poll()
    crashing.close()
    assert env.uids() == (6, 6)
    assert env.dead_letters() == (1, 1)
    first_files = sorted(env.lake.root.rglob("*.parquet"))
    assert len(first_files) == 3
    write(log, lines(6, 30) + bad(1))
    tailer = env.tailer(log, max_records=50)
    tailer.poll()
    assert env.uids() == (30, 30)
    assert env.dead_letters() == (2, 2)
    assert sorted(env.lake.root.rglob("*.parquet")) == first_files  # replaced, not added


def test_crashes_between_ingest_and_checkpoint_store_each_record_once(
    env: Env, tmp_path: Path
) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 40) + bad(0) + lines(40, 60))
    for saves in (1, 3, 2, 4):
        store = CrashingStore(env.store.folder, saves)
        crashing = Tailer([str(log)], "zeek_conn", env.ingestor, store, max_records=7)
        with pytest.raises(Crash):
            crashing.poll()
        crashing.close()
        write(log, lines(60 + saves * 10, 70 + saves * 10))
    env.tailer(log, max_records=7).poll()
    assert env.uids() == (100, 100)
    assert env.dead_letters() == (1, 1)


def test_the_connector_follows_until_stopped(env: Env, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    write(log, HEADER + lines(0, 5))
    config = TailConfig(
        type="tail", name="zeek", format="zeek_conn", paths=[str(log)], poll_seconds=0.01
    )
    assert connectors.get("tail") is TailConnector
    connector = TailConnector(config, env.ingestor, data_dir=tmp_path)

    async def follow() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(connector.run(stop))
        for _ in range(500):
            checkpoint = CheckpointStore(tmp_path / "checkpoints").load(str(log))
            if checkpoint is not None and checkpoint.offset == log.stat().st_size:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(follow())
    assert env.uids() == (5, 5)


CHILD = """
import os
import signal
import sys
import time
from pathlib import Path

from vigil.ingest.checkpoint import CheckpointStore
from vigil.ingest.connectors.tail import Tailer
from vigil.ingest.pipeline import Ingestor
from vigil.store.database import Database, sqlite_url
from vigil.store.lake import Lake

root, log, done, die_after = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
ingestor = Ingestor(Lake(root / "lake"), Database.open(sqlite_url(root)))
ingested = 0
ingest = ingestor.ingest


def ingest_then_maybe_die(*args, **kwargs):
    # The worst moment: the chunk is stored, its checkpoint not yet written.
    global ingested
    report = ingest(*args, **kwargs)
    ingested += 1
    if ingested == die_after:
        os.kill(os.getpid(), signal.SIGKILL)
    return report


ingestor.ingest = ingest_then_maybe_die
store = CheckpointStore(root / "checkpoints")
tailer = Tailer([log], "zeek_conn", ingestor, store, max_records=499, idle_seconds=0.05)
while True:
    stored = tailer.poll()
    checkpoint = store.load(log)
    finished = checkpoint is not None and checkpoint.offset == Path(log).stat().st_size
    if done.exists() and finished and not stored:
        break
    time.sleep(0.005)
"""


class Writer:
    """Appends conn lines in bursts, each cut mid-line into two writes, bad lines among them."""

    def __init__(self, path: Path, rng: random.Random) -> None:
        self.path, self.rng = path, rng
        self.lines = self.bad_lines = 0

    def burst(self, count: int) -> None:
        text = "".join(conn(self.lines + offset) for offset in range(count))
        self.lines += count
        if self.rng.random() < 0.5:
            text += bad(self.bad_lines)
            self.bad_lines += 1
        cut = self.rng.randrange(len(text))
        with self.path.open("a") as handle:
            handle.write(text[:cut])
            handle.flush()
            time.sleep(self.rng.uniform(0, 0.005))
            handle.write(text[cut:])


def _progress(store: CheckpointStore, log: Path, beyond: int) -> int:
    for _ in range(6000):
        checkpoint = store.load(str(log))
        if checkpoint is not None and checkpoint.offset > beyond:
            return checkpoint.offset
        time.sleep(0.01)
    pytest.fail("the tailer made no progress")


@pytest.mark.slow
def test_sigkill_at_random_points_loses_and_doubles_nothing(env: Env, tmp_path: Path) -> None:
    """The tailer runs in its own process over a file being appended to; it is
    killed with SIGKILL six times and restarted each time: three times by itself
    right after storing a chunk and before its checkpoint (the worst moment), three
    times from outside at a random moment while it works. At the end the lake
    holds every uid once and the dead letters every bad line once."""
    rng = random.Random(20261123)
    log, done = tmp_path / "conn.log", tmp_path / "writer-done"
    write(log, HEADER)
    writer = Writer(log, rng)
    errors = tmp_path / "child.err"

    def start(die_after: int = 0) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", CHILD, str(tmp_path), str(log), str(done), str(die_after)]
        with errors.open("ab") as sink:  # a file, not a pipe: a killed child leaves no pipe open
            return subprocess.Popen(command, stderr=sink)

    offset = 0
    for run in range(6):
        for _ in range(8):
            writer.burst(rng.randrange(100, 300))
        if run % 2 == 0:
            child = start(die_after=rng.randrange(1, 4))
            assert child.wait(timeout=120) == -signal.SIGKILL, errors.read_text()
        else:
            child = start()
            offset = _progress(env.store, log, offset)
            writer.burst(rng.randrange(200, 600))  # written while the tailer works
            time.sleep(rng.uniform(0, 0.05))
            assert child.poll() is None, errors.read_text()
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        checkpoint = env.store.load(str(log))
        offset = checkpoint.offset if checkpoint is not None else 0
    writer.burst(1000)
    done.touch()
    assert start().wait(timeout=120) == 0, errors.read_text()

    total, bad_lines = writer.lines, writer.bad_lines
    assert env.uids() == (total, total)
    assert env.dead_letters() == (bad_lines, bad_lines)
    header = len(HEADER.splitlines())
    checkpoint = env.store.load(str(log))
    assert checkpoint is not None
    assert checkpoint.offset == log.stat().st_size
    assert checkpoint.next_record == header + total + bad_lines + 1
    with env.database.session() as session:
        counted = session.scalar(select(func.sum(IngestSource.records))) or 0
    assert counted > header + total + bad_lines  # chunks were replayed, and stored once
