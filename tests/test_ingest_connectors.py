"""Network connectors against real clients: util-linux `logger`, `curl`, `mosquitto_pub`.

Each test runs its connector in a thread with its own event loop, on 127.0.0.1 and
an ephemeral port, and stops it on the way out; events are read back from the lake.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from ingest_helpers import WAIT, count, dead_letters, needs, running, wait_for
from vigil.ingest.connectors import Batcher, base
from vigil.ingest.connectors.http import HttpConfig, HttpEndpoint
from vigil.ingest.connectors.mqtt import MqttConfig, MqttSubscriber, record_of
from vigil.ingest.connectors.syslog import SyslogConfig, SyslogListener, TcpFrames, syslog_header
from vigil.ingest.connectors.tail import TailConfig, TailConnector
from vigil.ingest.parsers import parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.serve import ConnectorConfigError, load_connectors, serve, summary
from vigil.ingest.types import RawRecords
from vigil.store.database import Database, sqlite_url
from vigil.store.errors import StoreError
from vigil.store.lake import Lake
from vigil.store.models import IngestSource

EVE = (
    '{"timestamp":"2026-11-23T08:00:03.106222+0000","flow_id":%d,"event_type":"alert",'
    '"src_ip":"10.0.11.34","src_port":57366,"dest_ip":"203.0.113.9","dest_port":443,'
    '"proto":"TCP","alert":{"signature_id":2027865,"signature":"ET INFO test","severity":2}}'
)
HEARTBEAT = {
    "msg": "heartbeat",
    "kind": "camera",
    "vendor": "Axis",
    "firmware": "11.8.64",
    "ip": "10.0.12.14",
    "uptime_s": 2946472,
}


def sources(ingestor: Ingestor) -> dict[str, IngestSource]:
    with ingestor.database.session() as session:
        return {row.source: row for row in session.scalars(select(IngestSource))}


@pytest.fixture
def ingestor(tmp_path: Path) -> Iterator[Ingestor]:
    database = Database.open(sqlite_url(tmp_path))
    yield Ingestor(Lake(tmp_path / "lake"), database)
    database.close()


# --- syslog ---------------------------------------------------------------------------


def test_syslog_header_is_parsed_per_chunk() -> None:
    header = syslog_header(
        pl.Series(
            [
                '<134>1 2026-11-23T08:00:00Z fw01 suricata 12 - [x@1 a="b\\]"] {"k":1}',
                '<13>Mar  1 12:00:00 host suricata[42]: {"k":2}',
                "no header at all",
            ]
        )
    )
    assert header.select("pri", "hostname", "app_name", "procid", "body").rows() == [
        (134, "fw01", "suricata", "12", '{"k":1}'),
        (13, "host", "suricata", "42", '{"k":2}'),
        (None, None, None, None, "no header at all"),
    ]


@pytest.mark.parametrize(
    ("data", "messages", "oversized"),
    [
        (b"5 <1>ab10 <1>abcdefg", [b"<1>ab", b"<1>abcdefg"], 0),
        (b"<1>one\n<1>two\r\n\n", [b"<1>one", b"<1>two"], 0),
        (b"5 <1>ab<1>nl\n", [b"<1>ab", b"<1>nl"], 0),  # framings mixed on one connection
        (b"12x <1>bad count\n5 <1>ok", [b"12x <1>bad count", b"<1>ok"], 0),
        (b"999 " + b"x" * 999 + b"5 <1>ok", [b"<1>ok"], 1),  # oversized, skipped
        (b"x" * 1200 + b"\n<1>after\n", [b"<1>after"], 1),
    ],
    ids=["octets", "lines", "mixed", "bad-count", "oversized-octets", "oversized-line"],
)
def test_tcp_frames(data: bytes, messages: list[bytes], oversized: int) -> None:
    frames = TcpFrames(max_bytes=500)
    got = [frame for i in range(0, len(data), 7) for frame in frames.feed(data[i : i + 7])]
    assert got == messages
    assert frames.oversized == oversized


@needs("logger")
@pytest.mark.parametrize(
    ("transport", "rfc", "octets"),
    [
        ("udp", "--rfc5424", False),
        ("udp", "--rfc3164", False),
        ("tcp", "--rfc5424", True),
        ("tcp", "--rfc3164", True),
        ("tcp", "--rfc5424", False),
    ],
)
def test_logger_to_syslog_lands_in_lake(
    ingestor: Ingestor, transport: str, rfc: str, octets: bool
) -> None:
    config = SyslogConfig(
        type="syslog",
        name="ids",
        format="suricata_eve",
        transport=transport,
        host="127.0.0.1",
        port=0,
        payload="body",
    )
    with running(SyslogListener(config, ingestor)) as listener:
        for flow in range(3):
            command = ["logger", "--server", "127.0.0.1", "--port", str(listener.port)]
            command += [f"--{transport}", rfc, "-t", "suricata"]
            command += ["--octet-count"] if octets else []
            subprocess.run([*command, EVE % flow], check=True, timeout=WAIT)
        assert wait_for(lambda: count(ingestor.lake, "detection_finding") == 3)
    assert listener.batchers[0].report.records == 3


def test_syslog_tcp_survives_bad_frames_and_latin1(ingestor: Ingestor) -> None:
    import socket

    config = SyslogConfig(
        type="syslog", name="ids", format="suricata_eve", transport="tcp", host="127.0.0.1", port=0,
        payload="body", max_message_bytes=1024,
    )  # fmt: skip
    good = f"<134>1 2026-11-23T08:00:03Z ids suricata - - - {EVE % 1}".encode()
    latin = f"<134>1 2026-11-23T08:00:03Z ids suricata - - - {EVE % 2}".encode()
    latin = latin.replace(b"ET INFO test", b"ET INFO caf\xe9")
    stream = b"%d " % len(good) + good + b"77x garbage\n" + b"5000 " + b"y" * 5000
    stream += b"%d " % len(latin) + latin
    with running(SyslogListener(config, ingestor)) as listener:
        with socket.create_connection(("127.0.0.1", listener.port)) as client:
            client.sendall(stream)
        assert wait_for(lambda: count(ingestor.lake, "detection_finding") == 2)
        assert wait_for(lambda: len(dead_letters(ingestor)) == 1)
    assert dead_letters(ingestor)[0].raw == "77x garbage"
    assert listener.batchers[0].report.recoded == 1
    row = sources(ingestor)["syslog:ids"]
    assert (row.records, row.recoded, row.dropped) == (3, 1, 1)  # the 5000-byte frame


def send_udp(port: int, *messages: bytes) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        for message in messages:
            client.sendto(message, ("127.0.0.1", port))


@needs("logger")
def test_udp_drops_while_behind_are_counted_in_the_database(
    ingestor: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    """One datagram in storage, one queued, then three dropped: all five accounted for."""
    slow = SlowIngestor(ingestor)
    config = SyslogConfig(
        type="syslog", name="ids", format="suricata_eve", transport="udp", host="127.0.0.1",
        port=0, payload="body", batch_records=1, queue_chunks=1,
    )  # fmt: skip
    try:
        listener = SyslogListener(config, slow)
        with running(listener):
            command = ["logger", "--server", "127.0.0.1", "--port", str(listener.port), "--udp"]
            command += ["--rfc5424", "-t", "suricata"]
            subprocess.run([*command, EVE % 1], check=True, timeout=WAIT)
            assert slow.entered.wait(WAIT)
            subprocess.run([*command, EVE % 2], check=True, timeout=WAIT)
            assert wait_for(lambda: listener.batcher.full)
            for flow in range(3, 6):
                subprocess.run([*command, EVE % flow], check=True, timeout=WAIT)
            assert wait_for(lambda: listener.dropped == 3)
            slow.release.set()
            assert wait_for(lambda: count(ingestor.lake, "detection_finding") == 2)
    finally:
        slow.release.set()
    row = sources(ingestor)["syslog:ids"]
    assert (row.records, row.dropped) == (2, 3)
    assert listener.batcher.report.dropped == 3
    assert "pipeline behind, 1 datagram(s) dropped so far" in caplog.text


def test_oversized_udp_datagrams_are_logged_and_counted(
    ingestor: Ingestor, caplog: pytest.LogCaptureFixture
) -> None:
    config = SyslogConfig(
        type="syslog", name="ids", format="suricata_eve", transport="udp", host="127.0.0.1",
        port=0, payload="body", max_message_bytes=480,
    )  # fmt: skip
    good = f"<134>1 2026-11-23T08:00:03Z ids suricata - - - {EVE % 1}".encode()
    listener = SyslogListener(config, ingestor)
    with running(listener):
        send_udp(listener.port or 0, good + b" " * (481 - len(good)), good, good + b" " * 600)
        assert wait_for(lambda: count(ingestor.lake, "detection_finding") == 1)
        assert wait_for(lambda: listener.oversized == 2)
    row = sources(ingestor)["syslog:ids"]
    assert (row.records, row.dropped) == (1, 2)
    assert "skipped a 481-byte datagram (over the limit); 1 so far" in caplog.text


# --- HTTP -----------------------------------------------------------------------------


def http_config(**extra: Any) -> HttpConfig:
    values: dict[str, Any] = {
        "type": "http",
        "name": "push",
        "format": "suricata_eve",
        "host": "127.0.0.1",
        "port": 0,
        "sources": [
            {"name": "ids", "token_env": "VIGIL_TEST_TOKEN_IDS"},
            {"name": "other", "token_env": "VIGIL_TEST_TOKEN_OTHER"},
            {"name": "open"},
        ],
    }
    return HttpConfig.model_validate(values | extra)


def curl(url: str, *args: str, data: bytes = b"") -> tuple[int, dict[str, str], Any]:
    """POST `data` with curl; (status, lower-cased headers, JSON answer)."""
    done = subprocess.run(
        ["curl", "-sS", "-i", "-X", "POST", "--data-binary", "@-", *args, url],
        input=data,
        capture_output=True,
        check=True,
        timeout=WAIT,
    )
    head, _, body = done.stdout.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, json.loads(body or b"null")


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIGIL_TEST_TOKEN_IDS", "s3cret-ids")
    monkeypatch.setenv("VIGIL_TEST_TOKEN_OTHER", "s3cret-other")


@needs("curl")
@pytest.mark.usefixtures("tokens")
def test_curl_is_answered_once_its_records_are_stored(ingestor: Ingestor) -> None:
    """Each answer comes after the lake and the database hold the body: no waiting here."""
    ndjson = "\n".join([*(EVE % i for i in range(4)), "not json at all"]).encode() + b"\n"
    array = ("[" + ",".join(EVE % i for i in range(10, 12)) + "]").encode()
    auth = ("-H", "Authorization: Bearer s3cret-ids")
    with running(HttpEndpoint(http_config(batch_seconds=0.2), ingestor)) as endpoint:
        url = f"http://127.0.0.1:{endpoint.port}"
        answer = curl(f"{url}/ingest/ids", *auth, data=ndjson)
        assert answer[::2] == (200, {"stored": 5, "rejected": 1})
        assert count(ingestor.lake, "detection_finding") == 4
        assert [letter.raw for letter in dead_letters(ingestor)] == ["not json at all"]
        assert sources(ingestor)["http:ids"].records == 5
        json_type = ("-H", "Content-Type: application/json")
        answer = curl(f"{url}/ingest/ids", *auth, *json_type, data=array)
        assert answer[::2] == (200, {"stored": 2, "rejected": 0})
        assert count(ingestor.lake, "detection_finding") == 6
        gzip_args = ("-H", "Content-Encoding: gzip", "-H", "X-Vigil-Source: ids")
        answer = curl(f"{url}/ingest", *auth, *gzip_args, data=gzip.compress(ndjson))
        assert answer[::2] == (200, {"stored": 5, "rejected": 1})
        assert count(ingestor.lake, "detection_finding") == 10
        assert curl(f"{url}/ingest/open", data=(EVE % 99).encode())[0] == 200
        assert count(ingestor.lake, "detection_finding") == 11
        assert curl(f"{url}/ingest/open", data=b"\n\n")[::2] == (200, {"stored": 0, "rejected": 0})


@needs("curl")
@pytest.mark.usefixtures("tokens")
@pytest.mark.parametrize(
    ("path", "args", "data", "status", "error"),
    [
        ("/ingest/ids", (), b"x", 401, "a bearer token is required"),
        ("/ingest/ids", ("-H", "Authorization: Bearer wrong"), b"x", 401, "invalid token"),
        (
            "/ingest/ids",
            ("-H", "Authorization: Bearer s3cret-other"),
            b"x",
            403,
            "this token is for another source",
        ),
        ("/ingest/nope", (), b"x", 404, "unknown source 'nope'"),
        ("/ingest/open", ("-H", "Content-Encoding: gzip"), b"not gzip", 400, "invalid gzip"),
        ("/ingest/open", ("-H", "Content-Type: application/json"), b"[1,", 400, "invalid JSON"),
        ("/ingest/open", ("-H", "Content-Type: application/json"), b"{}", 400, "must be an"),
        ("/ingest/open", (), b"x" * 2000, 413, "body is over 1,000 bytes"),
        (
            "/ingest/open",
            ("-H", "Content-Encoding: gzip"),
            gzip.compress(b"x" * 5000),
            413,
            "once inflated",
        ),
        ("/ingest", (), b"x", 400, "name the source"),
    ],
    ids=["no-token", "bad-token", "other-token", "unknown", "gzip", "json", "object", "413",
         "bomb", "no-source"],
)  # fmt: skip
def test_curl_refusals(
    ingestor: Ingestor, path: str, args: tuple[str, ...], data: bytes, status: int, error: str
) -> None:
    with running(HttpEndpoint(http_config(max_body_bytes=1000), ingestor)) as endpoint:
        answer = curl(f"http://127.0.0.1:{endpoint.port}{path}", *args, data=data)
    assert answer[0] == status
    assert error in answer[2]["error"]


class SlowIngestor(Ingestor):
    """Holds every chunk until released, so the batcher's queue fills."""

    def __init__(self, inner: Ingestor) -> None:
        super().__init__(inner.lake, inner.database)
        self.entered = threading.Event()
        self.release = threading.Event()

    def ingest(self, records: RawRecords, *args: Any, **kwargs: Any) -> ChunkReport:
        self.entered.set()
        self.release.wait(WAIT)
        return super().ingest(records, *args, **kwargs)


def curl_later(url: str, data: bytes) -> subprocess.Popen[bytes]:
    """curl POSTing in the background; `answer_of` reads its answer."""
    command = ["curl", "-sS", "-i", "-X", "POST", "--data-binary", data.decode(), url]
    return subprocess.Popen(command, stdout=subprocess.PIPE)


def answer_of(process: subprocess.Popen[bytes]) -> tuple[int, Any]:
    try:
        out, _ = process.communicate(timeout=WAIT)
    finally:
        process.kill()  # no-op once it has exited
    assert process.returncode == 0
    head, _, body = out.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@needs("curl")
def test_curl_gets_429_with_retry_after_when_behind(ingestor: Ingestor) -> None:
    """A waits in storage, B fills the queue, C is refused; A and B are answered once stored."""
    slow = SlowIngestor(ingestor)
    config = http_config(sources=[{"name": "open"}], queue_chunks=1, batch_records=1)
    try:
        with running(HttpEndpoint(config, slow)) as endpoint:
            url = f"http://127.0.0.1:{endpoint.port}/ingest/open"
            first = curl_later(url, (EVE % 1).encode())
            assert slow.entered.wait(WAIT)
            second = curl_later(url, (EVE % 2).encode())
            assert wait_for(lambda: endpoint.batchers[0].full)
            status, headers, answer = curl(url, data=(EVE % 3).encode())
            assert (status, headers["retry-after"]) == (429, "1")
            assert "behind" in answer["error"]
            assert first.poll() is None  # not answered while its record is not stored
            assert count(ingestor.lake, "detection_finding") == 0
            slow.release.set()
            assert answer_of(first) == (200, {"stored": 1, "rejected": 0})
            assert answer_of(second) == (200, {"stored": 1, "rejected": 0})
            assert count(ingestor.lake, "detection_finding") == 2
        flows = ingestor.lake.query("SELECT count(*) FROM detection_finding").rows
        assert flows == [(2,)]  # the refused body was not kept
    finally:
        slow.release.set()


class OutageError(Exception):
    """A storage fault after the lake write (as a database outage would be)."""


@needs("curl")
def test_curl_gets_503_when_storage_fails_and_nothing_is_kept(tmp_path: Path) -> None:
    """The lake files of the failed attempt are removed: the resend is stored once."""
    outages = [1]

    def observe(batch: object) -> None:  # runs after the lake write, before the commit
        if outages[0]:
            outages[0] -= 1
            raise OutageError

    database = Database.open(sqlite_url(tmp_path))
    ingestor = Ingestor(Lake(tmp_path / "lake"), database, observe=observe)
    body = ("\n".join(EVE % i for i in range(3)) + "\nnot json").encode()
    try:
        with running(HttpEndpoint(http_config(sources=[{"name": "open"}]), ingestor)) as endpoint:
            url = f"http://127.0.0.1:{endpoint.port}/ingest/open"
            status, headers, answer = curl(url, data=body)
            assert (status, headers["retry-after"]) == (503, "1")
            assert "send them again" in answer["error"]
            assert outages == [0]
            assert list(ingestor.lake.files()) == []
            assert dead_letters(ingestor) == []
            assert "http:open" not in sources(ingestor)
            assert curl(url, data=body)[::2] == (200, {"stored": 4, "rejected": 1})
            assert count(ingestor.lake, "detection_finding") == 3
            assert len(dead_letters(ingestor)) == 1
            assert sources(ingestor)["http:open"].records == 4
    finally:
        database.close()


# --- MQTT -----------------------------------------------------------------------------


def test_mqtt_record_shape_and_non_json_payload() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 11, 23, 8, 0, 0, 642000, tzinfo=UTC)
    record = json.loads(record_of("stores/031/iot/cam/telemetry", b'{"msg":"heartbeat"}', at))
    assert record == {
        "ts": "2026-11-23T08:00:00.642Z",
        "topic": "stores/031/iot/cam/telemetry",
        "payload": {"msg": "heartbeat"},
    }
    assert json.loads(record_of("t", b"caf\xe9 oops", at))["payload"] == "caf\xe9 oops"


@pytest.mark.mqtt
@needs("mosquitto_pub")
def test_mosquitto_pub_lands_in_lake(ingestor: Ingestor) -> None:
    run = uuid.uuid4().hex[:8]
    config = MqttConfig(
        type="mqtt",
        name="iot",
        format="iot_mqtt",
        topics=[f"test-{run}/stores/+/iot/+/telemetry", f"stores/{run}/iot/+/telemetry"],
        client_id=f"vigil-test-{run}",
        clean_session=True,
    )
    with running(MqttSubscriber(config, ingestor)):
        for device in ("cam-01", "cam-02"):
            topic = f"stores/{run}/iot/{device}/telemetry"
            payload = json.dumps(HEARTBEAT)
            pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1"]
            subprocess.run([*pub, "-t", topic, "-m", payload], check=True, timeout=WAIT)
        topic = f"stores/{run}/iot/cam-03/telemetry"
        subprocess.run([*pub, "-t", topic, "-m", "not json"], check=True, timeout=WAIT)
        assert wait_for(lambda: count(ingestor.lake, "inventory_info") == 2)
        assert wait_for(lambda: len(dead_letters(ingestor)) == 1)
    stores = ingestor.lake.query('SELECT DISTINCT "store.uid" FROM inventory_info').rows
    assert stores == [(run,)]
    assert topic in dead_letters(ingestor)[0].raw


class FailingIngestor(Ingestor):
    """Every chunk fails, as while the database is down; counts the attempts."""

    def __init__(self, inner: Ingestor) -> None:
        super().__init__(inner.lake, inner.database)
        self.attempts = 0

    def ingest(self, records: RawRecords, *args: Any, **kwargs: Any) -> ChunkReport:
        self.attempts += 1
        raise StoreError("database is down")


@pytest.mark.mqtt
@needs("mosquitto_pub")
def test_mqtt_acknowledges_only_what_is_stored(
    ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A message whose storage failed is not acknowledged: the broker sends it again on the
    next connection of the session, and once stored and acknowledged it comes no more."""
    monkeypatch.setattr(base, "RETRY_FIRST", 0.01)
    run = uuid.uuid4().hex[:8]
    config = MqttConfig(
        type="mqtt", name="iot", format="iot_mqtt", topics=[f"stores/{run}/iot/+/telemetry"],
        client_id=f"vigil-test-{run}", clean_session=False, batch_seconds=0.05,
    )  # fmt: skip
    pub = ["mosquitto_pub", "-h", "127.0.0.1", "-p", "1883", "-q", "1", "-m"]
    payload = json.dumps(HEARTBEAT)

    def publish(device: str) -> None:
        topic = f"stores/{run}/iot/{device}/telemetry"
        subprocess.run([*pub, payload, "-t", topic], check=True, timeout=WAIT)

    def stored(device: str) -> int:
        if not count(ingestor.lake, "inventory_info"):
            return 0
        sql = f"SELECT count(*) FROM inventory_info WHERE \"device.uid\" = '{device}'"
        value = ingestor.lake.query(sql).rows[0][0]
        assert isinstance(value, int)
        return value

    failing = FailingIngestor(ingestor)
    try:
        subscriber = MqttSubscriber(config, failing)
        with running(subscriber):
            publish("cam-01")
            assert wait_for(lambda: failing.attempts >= 3)
            assert subscriber.unacked == 1
        assert count(ingestor.lake, "inventory_info") == 0
        subscriber = MqttSubscriber(config, ingestor)
        with running(subscriber):
            assert wait_for(lambda: stored("cam-01") == 1)  # sent again: it was never acked
            assert wait_for(lambda: subscriber.unacked == 0)
        with running(MqttSubscriber(config, ingestor)):
            publish("cam-02")  # a redelivery of cam-01 would come before it
            assert wait_for(lambda: stored("cam-02") == 1)
        assert stored("cam-01") == 1
    finally:
        clean = config.model_copy(update={"clean_session": True})
        with running(MqttSubscriber(clean, ingestor)):
            pass  # the broker forgets the test's session


def test_serve_summary_counts_the_tailed_files_and_drops(
    ingestor: Ingestor, tmp_path: Path
) -> None:
    golden = Path(__file__).parent / "golden" / "ingest" / "zeek_conn" / "input"
    log = tmp_path / "conn.log"
    log.write_bytes(golden.read_bytes())
    config = TailConfig(
        type="tail", name="zeek", format="zeek_conn", paths=[str(log)], poll_seconds=0.05,
        idle_seconds=0.05,
    )  # fmt: skip
    tail = TailConnector(config, ingestor, data_dir=tmp_path)
    syslog = SyslogListener(
        SyslogConfig(type="syslog", name="fw", format="firewall", host="127.0.0.1", port=0),
        ingestor,
    )
    syslog.batcher.drop(2)
    summaries: list[str] = []

    async def scenario() -> list[ChunkReport]:
        stop = asyncio.Event()
        serving = asyncio.create_task(
            serve([tail, syslog], stop, lambda reports: summaries.append(summary(reports)), 0.05)
        )
        while not any(f"tail:{log}" in line for line in summaries):
            await asyncio.sleep(0.05)
        stop.set()
        return await serving

    reports = asyncio.run(asyncio.wait_for(scenario(), WAIT))
    expected = sources(ingestor)[f"tail:{log}"]
    assert expected.records > 0
    final = summary(reports)
    assert f"tail:{log} {expected.records:,} records, {expected.events:,} events" in final
    assert "syslog:fw 0 records, 0 events, 0 rejected, 2 dropped" in final
    assert sources(ingestor)["syslog:fw"].dropped == 2


# --- storage faults, configuration ------------------------------------------------------


class FlakyIngestor(Ingestor):
    """Fails the first `failures` chunks as a database outage would."""

    def __init__(self, inner: Ingestor, failures: int) -> None:
        super().__init__(inner.lake, inner.database)
        self.failures = failures

    def ingest(self, records: RawRecords, *args: Any, **kwargs: Any) -> ChunkReport:
        if self.failures:
            self.failures -= 1
            raise StoreError("database is down")
        return super().ingest(records, *args, **kwargs)


def test_batcher_retries_a_chunk_whose_storage_failed(
    ingestor: Ingestor, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(base, "RETRY_FIRST", 0.01)
    flaky = FlakyIngestor(ingestor, failures=3)
    batcher = Batcher("test:flaky", parsers.get("suricata_eve")(), flaky, batch_seconds=0.01)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(batcher.run(stop))
        assert batcher.offer([EVE % 1, EVE % 2])
        while batcher.report.records < 2:
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(asyncio.wait_for(scenario(), WAIT))
    assert count(ingestor.lake, "detection_finding") == 2
    assert flaky.failures == 0
    assert "retry 3" in caplog.text


def test_connectors_file_reports_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(
        "- {type: syslog, name: fw, format: suricata_eve, port: 99999}\n"
        "- {type: http, name: push, format: nope, sources: [{name: a}]}\n"
        "- {type: mqtt, name: iot, format: iot_mqtt, topics: [x], colour: red}\n"
        "- {type: carrier_pigeon, name: p, format: x}\n"
    )
    with pytest.raises(ConnectorConfigError) as raised:
        load_connectors(path)
    message = str(raised.value)
    assert "[0].syslog.port: Input should be less than or equal to 65535" in message
    assert "[2].mqtt.colour: Extra inputs are not permitted" in message
    assert "[3]: Input tag 'carrier_pigeon' found using 'type'" in message


def test_connectors_file_checks_formats(tmp_path: Path) -> None:
    path = tmp_path / "connectors.yaml"
    path.write_text(
        "- {type: http, name: push, format: nope, sources: [{name: a, format: suricata_eve}]}\n"
        "- {type: syslog, name: fw, format: suricata_eve}\n"
        "- {type: syslog, name: fw, format: suricata_eve}\n"
    )
    with pytest.raises(ConnectorConfigError) as raised:
        load_connectors(path)
    assert "[0].format: unknown format 'nope'" in str(raised.value)
    assert "syslog:fw: two connectors have this name" in str(raised.value)
