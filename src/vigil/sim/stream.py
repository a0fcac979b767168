"""Replay simulated telemetry to ingest endpoints, in real or accelerated time.

`--speed 3600` plays an hour of simulated time each second. Every source's lines go,
merged in time order, to each sink that wants them; a sink is named by a URL:

- `file:DIR` appends each source's lines to its file under DIR (for a file tailer);
- `syslog+udp://HOST:PORT`, `syslog+tcp://HOST:PORT` send one syslog message per line
  (lines that are not syslog already are wrapped in RFC 5424; TCP frames by octet
  counting, RFC 6587);
- `http://HOST:PORT/PATH` POSTs each batch as text lines, with the source in the
  `X-Vigil-Source` header;
- `mqtt://HOST:PORT` publishes IoT telemetry lines to their own topic with their payload.

`?sources=a,b` after any URL limits it to those sources. The clock and sleep are
injected, so tests replay without waiting.
"""

from __future__ import annotations

import json
import socket
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import numpy as np
import paho.mqtt.client as mqtt
import polars as pl
from paho.mqtt.enums import CallbackAPIVersion

from vigil.sim.types import SimError

MAX_BATCH = 5_000


class Sink(ABC):
    """Somewhere telemetry lines go."""

    def __init__(self, only: frozenset[str] | None = None) -> None:
        self.only = only

    def wants(self, source: str) -> bool:
        return self.only is None or source in self.only

    @abstractmethod
    def send(self, source: str, lines: Sequence[str]) -> None:
        """Deliver `lines` of `source`, in order."""

    def close(self) -> None:  # noqa: B027 - most sinks have nothing to release
        """Flush and release what the sink holds."""


class FileSink(Sink):
    """Appends to each source's file, starting a new file with the source's header."""

    def __init__(
        self,
        folder: Path,
        paths: Mapping[str, str],
        headers: Mapping[str, str],
        only: frozenset[str] | None,
    ) -> None:
        super().__init__(only)
        self.folder, self.paths, self.headers = folder, paths, headers

    def send(self, source: str, lines: Sequence[str]) -> None:
        path = self.folder / self.paths[source]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = not path.exists()
            with path.open("a", encoding="utf-8") as handle:
                if fresh:
                    handle.write(self.headers.get(source, ""))
                handle.write("\n".join(lines) + "\n")
        except OSError as error:
            raise SimError(f"cannot append to {path}: {error.strerror}") from error


class SyslogSink(Sink):
    def __init__(self, host: str, port: int, tcp: bool, only: frozenset[str] | None) -> None:
        super().__init__(only)
        self.tcp = tcp
        kind = socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM
        try:
            self.socket = (
                socket.create_connection((host, port))
                if tcp
                else socket.socket(socket.AF_INET, kind)
            )
        except OSError as error:
            raise SimError(f"cannot reach syslog at {host}:{port}: {error.strerror}") from error
        self.address = (host, port)

    def send(self, source: str, lines: Sequence[str]) -> None:
        for line in lines:
            message = (line if line.startswith("<") else rfc5424(source, line)).encode()
            if self.tcp:
                self.socket.sendall(f"{len(message)} ".encode() + message)
            else:
                self.socket.sendto(message, self.address)

    def close(self) -> None:
        self.socket.close()


def rfc5424(source: str, line: str) -> str:
    """Wrap a line as an RFC 5424 message from the simulator (facility local0, info)."""
    stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"<134>1 {stamp} vigil-sim {source} - - - {line}"


class HttpSink(Sink):
    def __init__(self, url: str, only: frozenset[str] | None) -> None:
        super().__init__(only)
        self.url = url
        self.client = httpx.Client(timeout=10.0)

    def send(self, source: str, lines: Sequence[str]) -> None:
        try:
            response = self.client.post(
                self.url,
                content="\n".join(lines) + "\n",
                headers={"X-Vigil-Source": source, "Content-Type": "text/plain"},
            )
        except httpx.HTTPError as error:
            raise SimError(f"cannot POST to {self.url}: {error}") from error
        if response.status_code >= 300:
            raise SimError(f"{self.url} answered {response.status_code} for {source} lines")

    def close(self) -> None:
        self.client.close()


class MqttSink(Sink):
    """Publishes `{"topic": ..., "payload": {...}}` lines to their topic (QoS 1)."""

    def __init__(self, host: str, port: int, only: frozenset[str] | None) -> None:
        super().__init__(only if only is not None else frozenset({"iot"}))
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="vigil-sim")
        try:
            self.client.connect(host, port)
        except OSError as error:
            raise SimError(f"cannot reach MQTT broker at {host}:{port}: {error}") from error
        self.client.loop_start()

    def send(self, source: str, lines: Sequence[str]) -> None:
        for line in lines:
            record = json.loads(line)
            payload = json.dumps(record["payload"], separators=(",", ":"))
            self.client.publish(record["topic"], payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def open_sink(url: str, paths: Mapping[str, str], headers: Mapping[str, str]) -> Sink:
    """The sink a URL names; unknown schemes and missing ports are clear errors."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    only = frozenset(query["sources"][0].split(",")) if "sources" in query else None
    if only is not None and (unknown := only - set(paths)):
        raise SimError(f"{url}: unknown sources {', '.join(sorted(unknown))}")
    if parts.scheme == "file":
        return FileSink(Path(parts.netloc + parts.path), paths, headers, only)
    if parts.scheme in {"http", "https"}:
        return HttpSink(url.split("?", 1)[0], only)
    if parts.hostname is None or parts.port is None:
        raise SimError(f"{url}: give a host and a port, e.g. syslog+udp://127.0.0.1:5514")
    if parts.scheme in {"syslog+udp", "syslog+tcp"}:
        return SyslogSink(parts.hostname, parts.port, parts.scheme == "syslog+tcp", only)
    if parts.scheme == "mqtt":
        return MqttSink(parts.hostname, parts.port, only)
    raise SimError(
        f"{url}: unknown sink; use file:, syslog+udp://, syslog+tcp://, http:// or mqtt://"
    )


@dataclass(frozen=True)
class StreamStats:
    lines: int
    per_source: dict[str, int]
    seconds: float


def stream(
    timeline: pl.DataFrame,
    sinks: Sequence[Sink],
    start: float,
    speed: float | None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> StreamStats:
    """Send `timeline` (ts, source, line; sorted by ts) to the sinks, paced by `speed`.

    Simulated time `start` is played at the first call of `clock`; with `speed`
    None lines go as fast as the sinks take them.
    """
    times = timeline["ts"].to_numpy()
    names = timeline["source"].to_list()
    lines = timeline["line"].to_list()
    sent: dict[str, int] = {}
    began = clock()
    with ExitStack() as closing:  # every sink is closed, even when another's close fails
        for sink in sinks:
            closing.callback(sink.close)
        position = _play(times, names, lines, sinks, start, speed, clock, sleep, began, sent)
    return StreamStats(position, sent, clock() - began)


def _play(
    times: np.ndarray,
    names: list[str],
    lines: list[str],
    sinks: Sequence[Sink],
    start: float,
    speed: float | None,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    began: float,
    sent: dict[str, int],
) -> int:
    position = 0
    while position < len(lines):
        if speed is None:
            until = min(position + MAX_BATCH, len(lines))
        else:
            now = start + (clock() - began) * speed
            until = min(int(np.searchsorted(times, now, side="right")), position + MAX_BATCH)
            if until == position:
                sleep(min(max((times[position] - now) / speed, 0.001), 0.5))
                continue
        run = position
        while run < until:  # consecutive lines of one source go together, in time order
            source, end = names[run], run + 1
            while end < until and names[end] == source:
                end += 1
            batch = lines[run:end]
            for sink in sinks:
                if sink.wants(source):
                    sink.send(source, batch)
            sent[source] = sent.get(source, 0) + len(batch)
            run = end
        position = until
    return position
