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

from ingest_helpers import WAIT, count, dead_letters, needs, running, wait_for
from vigil.ingest.connectors import Batcher, base
from vigil.ingest.connectors.http import HttpConfig, HttpEndpoint
from vigil.ingest.connectors.mqtt import MqttConfig, MqttSubscriber, record_of
from vigil.ingest.connectors.syslog import SyslogConfig, SyslogListener, TcpFrames, syslog_header
from vigil.ingest.parsers import parsers
from vigil.ingest.pipeline import ChunkReport, Ingestor
from vigil.ingest.serve import ConnectorConfigError, load_connectors
from vigil.ingest.types import RawRecords
from vigil.store.database import Database, sqlite_url
from vigil.store.errors import StoreError
from vigil.store.lake import Lake

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
def test_curl_posts_ndjson_json_and_gzip(ingestor: Ingestor) -> None:
    ndjson = "\n".join(EVE % i for i in range(4)).encode() + b"\n"
    array = ("[" + ",".join(EVE % i for i in range(10, 12)) + "]").encode()
    auth = ("-H", "Authorization: Bearer s3cret-ids")
    with running(HttpEndpoint(http_config(), ingestor)) as endpoint:
        url = f"http://127.0.0.1:{endpoint.port}"
        assert curl(f"{url}/ingest/ids", *auth, data=ndjson)[::2] == (202, {"accepted": 4})
        json_type = ("-H", "Content-Type: application/json")
        assert curl(f"{url}/ingest/ids", *auth, *json_type, data=array)[::2] == (
            202,
            {"accepted": 2},
        )
        gzip_args = ("-H", "Content-Encoding: gzip", "-H", "X-Vigil-Source: ids")
        answer = curl(f"{url}/ingest", *auth, *gzip_args, data=gzip.compress(ndjson))
        assert answer[::2] == (202, {"accepted": 4})
        assert curl(f"{url}/ingest/open", data=(EVE % 99).encode())[0] == 202
        assert wait_for(lambda: count(ingestor.lake, "detection_finding") == 11)


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
        self.release = threading.Event()

    def ingest(self, records: RawRecords, *args: Any, **kwargs: Any) -> ChunkReport:
        self.release.wait(WAIT)
        return super().ingest(records, *args, **kwargs)


@needs("curl")
def test_curl_gets_429_with_retry_after_when_behind(ingestor: Ingestor) -> None:
    slow = SlowIngestor(ingestor)
    config = http_config(sources=[{"name": "open"}], queue_chunks=1, batch_records=1)
    try:
        with running(HttpEndpoint(config, slow)) as endpoint:
            url = f"http://127.0.0.1:{endpoint.port}/ingest/open"
            statuses = []
            for flow in range(6):
                status, headers, _ = curl(url, data=(EVE % flow).encode())
                statuses.append(status)
                if status == 429:
                    assert headers["retry-after"] == "1"
                    break
            assert statuses[-1] == 429
            slow.release.set()
            accepted = statuses.count(202)
            assert wait_for(lambda: count(ingestor.lake, "detection_finding") == accepted)
    finally:
        slow.release.set()


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
