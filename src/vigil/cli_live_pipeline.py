"""The live demo's moving parts: the pipeline as `vigil ingest serve` builds it, the
connectors the feed reaches, and the console over the same data folder.

The demo has nothing real to act on, so both the pipeline's playbooks and the steps
approved in the console act on the in-package recording backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from vigil.cli_live_feed import (
    DEMO_USER,
    HTTP_FORMATS,
    SYSLOG_FORMAT,
    TAILED_FORMAT,
    tailed_path,
)
from vigil.config import load_settings
from vigil.console.app import create_app
from vigil.console.auth.types import Role
from vigil.console.detections.rules import active_rules
from vigil.console.settings import ConsoleSettings
from vigil.console.state import Console
from vigil.correlate import service
from vigil.detect.engine import Engine
from vigil.detect.live import LiveDetection
from vigil.estate import Estate
from vigil.ingest import Ingestor
from vigil.ingest.connectors import Connector
from vigil.ingest.connectors.http import HttpConfig, HttpSourceConfig
from vigil.ingest.connectors.syslog import SyslogConfig
from vigil.ingest.connectors.tail import TailConfig
from vigil.ingest.enrich import Enricher
from vigil.ingest.serve import build
from vigil.respond.backends import Backends
from vigil.respond.build import build_responder
from vigil.respond.live import LiveResponse
from vigil.respond.recording import RecordingBackend
from vigil.respond.settings import ResponseSettings, load_response_settings
from vigil.store.database import Database
from vigil.store.lake import Lake

BATCH_SECONDS = 2.0
"""Chunks of two seconds: each chunk costs the pipeline a fixed share (parse, enrich,
a Parquet file per class), so a dozen sources in 0.25 s chunks would not keep up."""
LATENESS = timedelta(minutes=10)
"""The engine's default lateness (see `vigil.detect.engine`)."""
LAG_SECONDS = 60.0
"""Wall-clock lag of a source's chunks behind another's that still counts as on time."""


@dataclass
class Pipeline:
    """Ingest feeding detection, correlation and the playbooks; counts what they did."""

    database: Database
    ingestor: Ingestor
    live: LiveDetection
    respond: LiveResponse


def lateness_for(speed: float) -> timedelta:
    """The engine's lateness for a replay at `speed`: a minute of the pipeline's own lag
    (chunks waiting their turn) is `speed` minutes of simulated time."""
    return max(LATENESS, timedelta(seconds=LAG_SECONDS * speed))


def build_pipeline(data: Path, estate: Estate, lateness: timedelta) -> Pipeline:
    """Ingest -> detection -> correlation -> playbooks, as `vigil ingest serve` builds it."""
    settings = load_settings(data)
    database = Database.open(settings.database_url)
    respond_settings = load_response_settings(data)
    responder = build_responder(
        database, respond_settings, data, estate, RecordingBackend().backends()
    )
    respond = LiveResponse(database, service.start(database, estate), responder)
    engine = Engine(active_rules(database), estate, lateness)
    live = LiveDetection(engine, database, then=respond)
    lake = Lake(settings.lake_path)
    ingestor = Ingestor(lake, database, Enricher(estate), observe=live)
    return Pipeline(database, ingestor, live, respond)


def connectors(
    feed: Path, ingest_port: int, syslog_port: int, ingestor: Ingestor
) -> list[Connector[Any]]:
    """The HTTP endpoint, the syslog listener (TCP) and the tailer of `feed`'s RADIUS file,
    in that order; ports 0 pick free ones."""
    tailed = tailed_path(feed)
    tailed.parent.mkdir(parents=True, exist_ok=True)
    configs = [
        HttpConfig(
            type="http",
            name="stores",
            format="ocsf_json",
            host="127.0.0.1",
            port=ingest_port,
            batch_seconds=BATCH_SECONDS,
            sources=[HttpSourceConfig(name=name, format=fmt) for name, fmt in HTTP_FORMATS.items()],
        ),
        SyslogConfig(
            type="syslog",
            name="firewalls",
            format=SYSLOG_FORMAT,
            transport="tcp",
            host="127.0.0.1",
            port=syslog_port,
            batch_seconds=BATCH_SECONDS,
        ),
        TailConfig(
            type="tail", name="wifi", format=TAILED_FORMAT, paths=[str(tailed)], poll_seconds=0.5
        ),
    ]
    return build(configs, ingestor)


class ConsoleServer(uvicorn.Server):
    """uvicorn without its own signal handling: the demo owns Ctrl-C."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _recording(_settings: ResponseSettings) -> Backends:
    return RecordingBackend().backends()


def console_app(data: Path) -> FastAPI:
    """The console over the demo's data folder: http on loopback, and approved steps acted
    out on the recording backend like the pipeline's own."""
    return create_app(ConsoleSettings(data=data, allow_http=True, backends=_recording))


def demo_account(app: FastAPI) -> tuple[str, str]:
    """The demo's admin account (every store), with a password drawn now."""
    console: Console = app.state.console
    user, password = console.accounts.create_user(DEMO_USER, None, Role.ADMIN, ["*"], "demo")
    return user.username, password
