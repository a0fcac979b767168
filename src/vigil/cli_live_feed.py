"""The live demo's world and feed: a fresh data folder, simulated telemetry, and the sinks
that replay it into the connectors as stores would send it.

Routes, by how each system ships its logs in a real estate: firewalls over syslog
(TCP, so a busy pipeline pushes back instead of dropping), the Wi-Fi controller's
RADIUS detail file through the file tailer (its records span lines), every other
source to the HTTP ingest endpoint.
"""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from ruamel.yaml import YAML

from vigil import __version__
from vigil.config import CONFIG_FILE, default_config_text, load_settings
from vigil.estate import Estate
from vigil.sim import (
    Scenario,
    ScenarioParams,
    SimError,
    SimResult,
    World,
    generate_estate,
    scenarios,
    simulate,
    sources,
)
from vigil.sim.stream import FileSink, Sink, SyslogSink
from vigil.store.database import Database

HTTP_FORMATS = {
    "alarm": "vigil_alarm",
    "door": "vigil_door",
    "endpoint": "osquery",
    "iot": "iot_mqtt",
    "netflow": "netflow_csv",
    "pos": "vigil_pos",
    "sco": "vigil_sco",
    "sso": "okta_signin",
    "web": "web_access",
    "zeek_conn": "zeek_conn",
    "zeek_dns": "zeek_dns",
}
"""Sources posted to the HTTP ingest endpoint, with their parser."""
SYSLOG_SOURCE, SYSLOG_FORMAT = "firewall", "firewall"
TAILED_SOURCE, TAILED_FORMAT = "radius", "radius_detail"

LEAD_IN_HOURS = 0.25
"""Quiet, benign time before the first scenario, so that the first incidents stand out."""
DAY_START_UTC = 15
"""The demo's day starts at 15:00 UTC: morning trading in the generated (US) estate."""
DEMO_USER = "demo"
FEED_FOLDER, SIM_FOLDER = "feed", "sim"
MAX_POST_LINES = 20_000


class DemoError(Exception):
    """The live demo cannot start or go on; the message says why."""


class DemoStoppedError(DemoError):
    """The demo was asked to stop while the replay was still sending."""


@dataclass(frozen=True)
class DemoWorld:
    """What the demo replays: its estate, the simulation, and where it starts."""

    estate: Estate
    result: SimResult
    start: datetime
    left_out: dict[str, str]
    """Scenarios that found nowhere to happen in the span, and why."""


def default_start(now: datetime, hours: float) -> datetime:
    """The latest 15:00 UTC from which `hours` of telemetry end before `now`.

    Events then lie in the past (a console showing tomorrow's alerts is confusing)
    and during US trading hours (tills, queues and staff are busy).
    """
    start = now.astimezone(UTC).replace(hour=DAY_START_UTC, minute=0, second=0, microsecond=0)
    while start + timedelta(hours=hours) > now:
        start -= timedelta(days=1)
    return start


def initialise(data: Path, estate: Estate) -> None:
    """A fresh data folder, as `vigil init` makes it, with `estate` as its estate file.

    No `respond.yaml`: the defaults (assisted mode, the shipped playbooks) apply, and the
    console makes its approver accounts approvers.
    """
    if data.exists():
        if any(data.iterdir()) and not (data / CONFIG_FILE).exists():
            raise DemoError(f"{data} is not empty and not a Vigil data folder: not emptying it")
        shutil.rmtree(data)
    data.mkdir(parents=True)
    (data / CONFIG_FILE).write_text(default_config_text(), encoding="utf-8")
    settings = load_settings(data)
    settings.estate_path.write_text(_yaml(estate.model_dump(mode="json")), encoding="utf-8")
    settings.lake_path.mkdir(parents=True, exist_ok=True)
    database = Database.open(settings.database_url)
    database.audit("demo", "init", str(data.resolve()), {"version": __version__, "live": True})
    database.close()


def _yaml(document: object) -> str:
    buffer = io.StringIO()
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.dump(document, buffer)
    return buffer.getvalue()


def simulate_world(
    estate: Estate,
    start: datetime,
    hours: float,
    seed: int,
    out: Path,
    chosen: Sequence[str] | None = None,
) -> DemoWorld:
    """`hours` of telemetry from `start`, each scenario placed in the first half, in turn."""
    world = World(estate, start, hours / 24, seed)
    names = list(chosen) if chosen is not None else scenarios.names()
    if unknown := sorted(set(names) - set(scenarios.names())):
        raise DemoError(f"unknown scenarios: {', '.join(unknown)}")
    gap = max(hours / 2 - LEAD_IN_HOURS, 0) / max(len(names), 1)
    fitting: list[Scenario] = []
    left_out: dict[str, str] = {}
    for index, name in enumerate(names):
        try:
            scenario = scenarios.get(name)(ScenarioParams(at_hours=LEAD_IN_HOURS + index * gap))
            scenario.inject(world)
        except SimError as error:  # too short a span or too small an estate for it
            left_out[name] = str(error)
        else:
            fitting.append(scenario)
    try:
        result = simulate(world, fitting, out, timeline=True)
    except SimError as error:
        raise DemoError(f"the simulation failed: {error}") from error
    return DemoWorld(estate, result, world.start, left_out)


def demo_estate(stores: int, seed: int) -> Estate:
    try:
        return generate_estate(stores, seed)
    except ValueError as error:
        raise DemoError(str(error)) from error


class HttpFeed(Sink):
    """POSTs lines to the HTTP ingest endpoint, a source's lines gathered for `every` seconds.

    The replay hands over a few lines at a time (the sources interleave); one POST per
    handful would cost more than the pipeline's work on them. A 429 (the pipeline is
    behind) is waited out and sent again, never fatal.
    """

    def __init__(
        self,
        url: str,
        stop: threading.Event,
        every: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(frozenset(HTTP_FORMATS))
        self.url, self.stop, self.every, self.clock = url, stop, every, clock
        self.client = httpx.Client(timeout=30.0, transport=transport)
        self.pending: dict[str, list[str]] = {}
        self.count = 0
        self.flushed = clock()

    def send(self, source: str, lines: Sequence[str]) -> None:
        self.pending.setdefault(source, []).extend(lines)
        self.count += len(lines)
        if self.count >= MAX_POST_LINES or self.clock() - self.flushed >= self.every:
            self.flush()

    def flush(self) -> None:
        """POST what is gathered, one request per source."""
        pending, self.pending, self.count = self.pending, {}, 0
        self.flushed = self.clock()
        for source, lines in pending.items():
            self._post(source, "\n".join(lines) + "\n")

    def _post(self, source: str, body: str) -> None:
        while True:
            if self.stop.is_set():
                raise DemoStoppedError("stopped")
            try:
                response = self.client.post(
                    self.url,
                    content=body,
                    headers={"X-Vigil-Source": source, "Content-Type": "text/plain"},
                )
            except httpx.HTTPError as error:
                raise DemoError(f"cannot POST to {self.url}: {error}") from error
            if response.status_code != 429:
                break
            self.stop.wait(float(response.headers.get("retry-after", "1")))
        if response.status_code >= 300:
            raise DemoError(f"{self.url} answered {response.status_code} for {source} lines")

    def close(self) -> None:
        try:
            if not self.stop.is_set():
                self.flush()
        finally:
            self.client.close()


class Stoppable(Sink):
    """Another sink that refuses to send once the demo is stopping (ends the replay)."""

    def __init__(self, inner: Sink, stop: threading.Event) -> None:
        super().__init__(inner.only)
        self.inner, self.stop = inner, stop

    def send(self, source: str, lines: Sequence[str]) -> None:
        if self.stop.is_set():
            raise DemoStoppedError("stopped")
        self.inner.send(source, lines)

    def close(self) -> None:
        self.inner.close()


@dataclass(frozen=True)
class Feed:
    """The sinks of the three routes, and the sleep the replay waits with."""

    http: HttpFeed
    sinks: list[Sink]
    stop: threading.Event

    def sleep(self, seconds: float) -> None:
        """Send what the HTTP feed gathered, then wait; end the replay when the demo stops."""
        self.http.flush()
        if self.stop.wait(seconds):
            raise DemoStoppedError("stopped")


def open_feed(
    http_url: str,
    syslog_port: int,
    folder: Path,
    headers: Mapping[str, str],
    stop: threading.Event,
) -> Feed:
    """The sinks of the three routes; header lines (Zeek `#fields`, the flow CSV's column
    names) are posted first, so the endpoint's parsers know each source's layout."""
    paths = {name: cls.path for name, cls in sources.items()}
    http = HttpFeed(http_url, stop)
    for source in HTTP_FORMATS:
        lines = [line for line in headers.get(source, "").splitlines() if line.strip()]
        if lines:
            http.send(source, lines)
    http.flush()
    try:
        syslog = SyslogSink("127.0.0.1", syslog_port, True, frozenset({SYSLOG_SOURCE}))
    except SimError as error:
        http.close()
        raise DemoError(str(error)) from error
    tailed = FileSink(folder, paths, headers, frozenset({TAILED_SOURCE}))
    return Feed(http, [http, Stoppable(syslog, stop), Stoppable(tailed, stop)], stop)


def tailed_path(feed: Path) -> Path:
    return feed / sources.get(TAILED_SOURCE).path
