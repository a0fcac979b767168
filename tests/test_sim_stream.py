from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import paho.mqtt.client as mqtt
import polars as pl
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from typer.testing import CliRunner

from vigil.cli import app
from vigil.sim import SimError
from vigil.sim.stream import Sink, open_sink, stream

PATHS = {
    "firewall": "firewall/fortigate.log",
    "pos": "pos/transactions.jsonl",
    "iot": "iot/mqtt.jsonl",
}


class Recorder(Sink):
    def __init__(self, clock: FakeClock, only: frozenset[str] | None = None) -> None:
        super().__init__(only)
        self.clock = clock
        self.got: list[tuple[float, str, str]] = []
        self.closed = False

    def send(self, source: str, lines: Sequence[str]) -> None:
        self.got += [(self.clock.now, source, line) for line in lines]

    def close(self) -> None:
        self.closed = True


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def _timeline(rows: list[tuple[float, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["ts", "source", "line"], orient="row")


def test_accelerated_time_paces_lines_by_their_timestamps() -> None:
    clock = FakeClock()
    sink = Recorder(clock)
    timeline = _timeline(
        [
            (1000.0, "pos", "a"),
            (1010.0, "firewall", "b"),
            (4600.0, "pos", "c"),
            (8200.0, "pos", "d"),
        ]
    )
    stats = stream(timeline, [sink], start=1000.0, speed=3600, clock=clock, sleep=clock.sleep)
    sent_at = {line: moment - 100.0 for moment, _, line in sink.got}
    assert [line for _, _, line in sink.got] == ["a", "b", "c", "d"]
    assert sent_at["a"] == pytest.approx(0, abs=0.01)
    assert 0.9 <= sent_at["c"] <= 1.1  # an hour of simulated time is a second
    assert 1.9 <= sent_at["d"] <= 2.1
    assert stats.lines == 4
    assert stats.per_source == {"pos": 3, "firewall": 1}
    assert sink.closed


class FailsToClose(Recorder):
    def close(self) -> None:
        super().close()
        raise OSError("connection reset while flushing")


def test_every_sink_is_closed_when_one_fails_to_close() -> None:
    clock = FakeClock()
    first, failing, last = Recorder(clock), FailsToClose(clock), Recorder(clock)
    with pytest.raises(OSError, match="connection reset"):
        stream(
            _timeline([(1000.0, "pos", "a")]),
            [first, failing, last],
            start=1000.0,
            speed=None,
            clock=clock,
            sleep=clock.sleep,
        )
    assert [first.closed, failing.closed, last.closed] == [True, True, True]
    assert [line for _, _, line in last.got] == ["a"]


def test_a_sink_gets_only_the_sources_it_asked_for() -> None:
    clock = FakeClock()
    everything, firewall = Recorder(clock), Recorder(clock, frozenset({"firewall"}))
    timeline = _timeline([(1.0, "pos", "a"), (2.0, "firewall", "b"), (3.0, "pos", "c")])
    stream(timeline, [everything, firewall], start=0.0, speed=None, clock=clock, sleep=clock.sleep)
    assert [line for *_, line in everything.got] == ["a", "b", "c"]
    assert [line for *_, line in firewall.got] == ["b"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://host:21", "unknown sink"),
        ("syslog+udp://127.0.0.1", "give a host and a port"),
        ("file:/tmp/x?sources=pos,nosuch", "unknown sources nosuch"),
        ("syslog+tcp://127.0.0.1:1", "cannot reach syslog"),
        ("mqtt://127.0.0.1:1", "cannot reach MQTT broker"),
    ],
)
def test_bad_sink_urls_are_clear_errors(url: str, message: str) -> None:
    with pytest.raises(SimError, match=message):
        open_sink(url, PATHS, {})


def test_file_sink_starts_files_with_their_header_and_appends(tmp_path: Path) -> None:
    sink = open_sink(f"file:{tmp_path}", PATHS, {"firewall": "#header\n"})
    sink.send("firewall", ["one", "two"])
    sink.send("firewall", ["three"])
    sink.send("pos", ["{}"])
    sink.close()
    assert (tmp_path / "firewall" / "fortigate.log").read_text() == "#header\none\ntwo\nthree\n"
    assert (tmp_path / "pos" / "transactions.jsonl").read_text() == "{}\n"


def test_syslog_over_udp_sends_a_datagram_per_line() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        port = server.getsockname()[1]
        sink = open_sink(f"syslog+udp://127.0.0.1:{port}", PATHS, {})
        sink.send("firewall", ['<189>date=2026-11-23 time=08:00:01 devname="fw"'])
        sink.send("pos", ['{"type":"sale"}'])
        sink.close()
        first, second = server.recv(65535).decode(), server.recv(65535).decode()
    assert first == '<189>date=2026-11-23 time=08:00:01 devname="fw"'
    assert second.startswith("<134>1 ")
    assert second.endswith(' vigil-sim pos - - - {"type":"sale"}')


def test_syslog_over_tcp_frames_by_octet_counting() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        received: list[bytes] = []

        def accept() -> None:
            connection, _ = server.accept()
            with connection:
                while chunk := connection.recv(65535):
                    received.append(chunk)

        reader = threading.Thread(target=accept)
        reader.start()
        sink = open_sink(f"syslog+tcp://127.0.0.1:{port}?sources=firewall", PATHS, {})
        sink.send("firewall", ["<189>a b", "<189>é"])
        sink.close()
        reader.join(5)
    assert b"".join(received) == b"8 <189>a b7 <189>\xc3\xa9"


@pytest.fixture
def http_endpoint() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    posts: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            posts.append((self.headers["X-Vigil-Source"], body))
            self.send_response(202 if self.path == "/ingest" else 404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", posts
    server.shutdown()
    thread.join()
    server.server_close()


def test_http_posts_batches_with_their_source(
    http_endpoint: tuple[str, list[tuple[str, str]]],
) -> None:
    base, posts = http_endpoint
    sink = open_sink(f"{base}/ingest", PATHS, {})
    sink.send("pos", ['{"a":1}', '{"b":2}'])
    sink.close()
    assert posts == [("pos", '{"a":1}\n{"b":2}\n')]
    refused = open_sink(f"{base}/wrong", PATHS, {})
    with pytest.raises(SimError, match="answered 404"):
        refused.send("pos", ["x"])
    refused.close()


@pytest.mark.mqtt
def test_mqtt_publishes_iot_payloads_to_their_topics() -> None:
    topic = "stores/999/iot/test-cam/telemetry"
    received: list[tuple[str, dict[str, object]]] = []
    subscribed = threading.Event()
    listener = mqtt.Client(CallbackAPIVersion.VERSION2)
    listener.on_subscribe = lambda *args: subscribed.set()
    listener.on_message = lambda client, data, message: received.append(
        (message.topic, json.loads(message.payload))
    )
    listener.connect("127.0.0.1", 1883)
    listener.subscribe("stores/999/#", qos=1)
    listener.loop_start()
    assert subscribed.wait(5)
    sink = open_sink("mqtt://127.0.0.1:1883", PATHS, {})
    assert not sink.wants("pos")
    line = json.dumps({"ts": "2026-11-23T08:00:00.000Z", "topic": topic, "payload": {"cpu": 12}})
    sink.send("iot", [line])
    sink.close()
    for _ in range(50):
        if received:
            break
        threading.Event().wait(0.1)
    listener.loop_stop()
    listener.disconnect()
    assert received == [(topic, {"cpu": 12})]


def test_cli_streams_files_identical_to_the_batch_output(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "sim",
            "--stores",
            "1",
            "--days",
            "0.5",
            "--scenario",
            "pos_malware",
            "--out",
            str(tmp_path / "batch"),
            "--to",
            f"file:{tmp_path / 'live'}",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Streamed" in result.output
    compared = 0
    for batch in (tmp_path / "batch").rglob("*.*"):
        if batch.name in {"truth.jsonl", "manifest.json"}:
            continue
        live = tmp_path / "live" / batch.relative_to(tmp_path / "batch")
        expected = [
            line for line in batch.read_text().splitlines() if not line.startswith("#close")
        ]
        if not any(line and not line.startswith("#") for line in expected):
            assert not live.exists(), batch.name  # nothing to stream, nothing written
            continue
        compared += 1
        assert live.read_text().splitlines() == expected, batch.name
    assert compared >= 10


def test_cli_refuses_speed_without_a_sink(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["sim", "--stores", "1", "--speed", "60", "--out", str(tmp_path)]
    )
    assert result.exit_code != 0
    assert "give a sink with --to" in result.output
