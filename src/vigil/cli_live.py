"""`vigil demo --live`: the simulator streaming into the live pipeline, with the console on top.

A fresh data folder gets a generated estate; the simulator writes a few hours of
its telemetry with every scenario placed early, and that telemetry is replayed in
accelerated time into the real connectors (see `vigil.cli_live_feed` for the
routes). Ingest feeds live detection, correlation and the playbooks exactly as
`vigil ingest serve` does, in assisted mode against the in-package recording
backend (the demo has nothing real to act on). The console serves the same data
folder, with a demo account whose password is drawn at start and printed once.

The demo runs until Ctrl-C (or `stop`, for tests); the replay ends on its own and
the console stays up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from fastapi import FastAPI

from vigil.cli_live_feed import (
    FEED_FOLDER,
    SIM_FOLDER,
    DemoError,
    DemoStoppedError,
    DemoWorld,
    default_start,
    demo_estate,
    initialise,
    open_feed,
    simulate_world,
)
from vigil.cli_live_pipeline import (
    ConsoleServer,
    Pipeline,
    build_pipeline,
    connectors,
    console_app,
    demo_account,
    lateness_for,
)
from vigil.cli_support import fail, out
from vigil.ingest import IngestError
from vigil.ingest.connectors import Connector
from vigil.ingest.pipeline import ChunkReport
from vigil.ingest.serve import serve, summary
from vigil.sim import SimError
from vigil.sim.stream import StreamStats, stream
from vigil.store.errors import StoreError

logger = logging.getLogger(__name__)

DEFAULT_SPEED = 120.0
"""Two simulated minutes a second: the first scenario (15 simulated minutes in) shows
within seconds, the whole replay of four hours takes two minutes."""


@dataclass(frozen=True)
class LiveDemoSetup:
    """What to run: where, how big, how fast. Ports 0 pick free ones."""

    data: Path
    host: str = "127.0.0.1"
    port: int = 8000
    ingest_port: int = 0
    syslog_port: int = 0
    stores: int = 4
    hours: float = 4.0
    speed: float = DEFAULT_SPEED
    seed: int = 7
    start: datetime | None = None
    scenarios: tuple[str, ...] | None = None
    report_every: float = 10.0


@dataclass
class LiveDemoState:
    """Where a running demo is; filled in as it goes, final when `run_live_demo` returns."""

    ingest_url: str = ""
    syslog_port: int = 0
    console_url: str = ""
    username: str = ""
    password: str = ""
    ready: threading.Event = field(default_factory=threading.Event)
    """Set once the connectors and the console listen and the replay has started."""
    replay: StreamStats | None = None
    events: int = 0
    alerts: int = 0
    incidents: int = 0
    runs: int = 0
    totals: list[ChunkReport] = field(default_factory=list)


def run_live_demo(
    setup: LiveDemoSetup,
    stop: threading.Event | None = None,
    state: LiveDemoState | None = None,
) -> LiveDemoState:
    """Prepare the world, then run pipeline, replay and console until `stop` (or Ctrl-C)."""
    stop = stop or threading.Event()
    state = state or LiveDemoState()
    try:  # the console's port first: if it is taken, say so before minutes of work
        listener = socket.create_server((setup.host, setup.port))
    except OSError as error:
        raise DemoError(
            f"cannot listen on {setup.host}:{setup.port}: {error.strerror}; choose another --port"
        ) from error
    with listener:
        state.console_url = f"http://{setup.host}:{listener.getsockname()[1]}"
        start = setup.start or default_start(datetime.now(UTC), setup.hours)
        estate = demo_estate(setup.stores, setup.seed)
        initialise(setup.data, estate)
        out.print(
            f"Simulating {setup.stores} stores, {setup.hours:g} h from "
            f"{start.isoformat(timespec='minutes')} ..."
        )
        world = simulate_world(
            estate, start, setup.hours, setup.seed, setup.data / SIM_FOLDER, setup.scenarios
        )
        for name, why in world.left_out.items():
            out.print(f"[dim]scenario {name} left out: {why}[/]", highlight=False)
        pipeline = build_pipeline(setup.data, world.estate, lateness_for(setup.speed))
        try:
            app = console_app(setup.data)
            state.username, state.password = demo_account(app)
            asyncio.run(_run(setup, world, pipeline, _Served(app, listener), stop, state))
        finally:
            pipeline.database.close()
    return state


@dataclass(frozen=True)
class _Served:
    app: FastAPI
    listener: socket.socket


async def _run(
    setup: LiveDemoSetup,
    world: DemoWorld,
    pipeline: Pipeline,
    served: _Served,
    stop: threading.Event,
    state: LiveDemoState,
) -> None:
    """Connectors and console in this loop, the replay in a thread, until `stop`."""
    halt = asyncio.Event()
    with _signals(stop):
        watcher = asyncio.create_task(_watch(stop, halt))
        running = connectors(
            setup.data / FEED_FOLDER, setup.ingest_port, setup.syslog_port, pipeline.ingestor
        )
        serving = asyncio.create_task(
            serve(running, halt, lambda r: _report(state, pipeline, r), setup.report_every)
        )
        server = ConsoleServer(uvicorn.Config(served.app, log_level="warning", access_log=False))
        console = asyncio.create_task(server.serve(sockets=[served.listener]))
        listening = [c for c in running if c.config.type != "tail"]
        ready = asyncio.create_task(_all_ready(listening, server))
        await asyncio.wait([serving, console, ready], return_when=asyncio.FIRST_COMPLETED)
        replaying: asyncio.Task[None] | None = None
        if ready.done():
            state.ingest_url = f"http://127.0.0.1:{running[0].port}/ingest"
            state.syslog_port = running[1].port or 0
            replaying = asyncio.create_task(asyncio.to_thread(_replay, setup, world, stop, state))
            _announce(setup, world, state)
            state.ready.set()
        try:
            await asyncio.wait([serving, console], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.set()
            halt.set()
            ready.cancel()
            server.should_exit = True
            await console
            state.totals = await serving
            await watcher
            if replaying is not None:
                await replaying
    _report(state, pipeline, state.totals)


def _replay(
    setup: LiveDemoSetup, world: DemoWorld, stop: threading.Event, state: LiveDemoState
) -> None:
    timeline = world.result.timeline
    if timeline is None:  # simulate_world always asks for it
        raise DemoError("the simulation kept no timeline to replay")
    try:
        feed = open_feed(
            state.ingest_url,
            state.syslog_port,
            setup.data / FEED_FOLDER,
            world.result.headers,
            stop,
        )
        state.replay = stream(
            timeline, feed.sinks, world.start.timestamp(), setup.speed, sleep=feed.sleep
        )
    except DemoStoppedError:
        return
    except (DemoError, SimError, OSError) as error:
        if not stop.is_set():
            logger.error("the replay stopped: %s", error)
            out.print(f"[red]The replay stopped:[/] {error}", highlight=False)
        return
    out.print(
        f"Replay done: {state.replay.lines:,} lines in {state.replay.seconds:.0f} s. "
        "The console stays up; Ctrl-C stops.",
        highlight=False,
    )


async def _all_ready(connectors: list[Connector[Any]], server: uvicorn.Server) -> None:
    for connector in connectors:
        await connector.ready.wait()
    while not server.started:
        await asyncio.sleep(0.05)


async def _watch(stop: threading.Event, halt: asyncio.Event) -> None:
    """Turn the thread-safe `stop` into the loop's `halt`."""
    while not stop.is_set() and not halt.is_set():
        await asyncio.sleep(0.1)
    halt.set()


@contextlib.contextmanager
def _signals(stop: threading.Event) -> Generator[None, None, None]:
    """Ctrl-C and SIGTERM set `stop` (only the main thread can take signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _report(state: LiveDemoState, pipeline: Pipeline, reports: list[ChunkReport]) -> None:
    """A line of counts, when they moved since the last one."""
    state.alerts = pipeline.live.alerts
    state.incidents = len(pipeline.respond.incidents)
    state.runs = pipeline.respond.runs
    events = sum(report.total_events for report in reports)
    if events == state.events and reports:
        return
    state.events = events
    out.print(
        f"{events:,} events in ({pipeline.live.late:,} late); {state.alerts} alert(s), "
        f"{state.incidents} incident(s), {state.runs} playbook run(s)",
        highlight=False,
    )
    logger.debug("%s", summary(reports))


def _announce(setup: LiveDemoSetup, world: DemoWorld, state: LiveDemoState) -> None:
    scenarios = len(world.result.truth)
    out.print(
        f"Replaying {world.result.events:,} events ({scenarios} scenario instances) at "
        f"{setup.speed:g}x into {state.ingest_url}, syslog tcp/{state.syslog_port} and "
        f"the file tailer.",
        highlight=False,
    )
    out.print(
        f"\n[bold]Console:[/] {state.console_url}\n"
        f"[bold]User:[/] {state.username}\n[bold]Password:[/] {state.password}\n"
        "Incidents appear within a minute. Ctrl-C stops.\n",
        highlight=False,
    )


def live_demo(
    data: Annotated[Path, typer.Option("--data", "-d", help="Data folder (emptied first).")] = Path(
        ".vigil-demo"
    ),
    port: Annotated[int, typer.Option(min=0, max=65535, help="Console port.")] = 8000,
    speed: Annotated[
        float, typer.Option(min=1, help="Simulated seconds per second.")
    ] = DEFAULT_SPEED,
    stores: Annotated[int, typer.Option(min=1, max=200, help="Stores in the estate.")] = 4,
    hours: Annotated[float, typer.Option(min=0.5, max=48, help="Simulated hours.")] = 4.0,
    seed: Annotated[int, typer.Option(help="Same seed, same telemetry.")] = 7,
) -> None:
    """The live demo: simulator, pipeline and console, until Ctrl-C."""
    setup = LiveDemoSetup(data, port=port, speed=speed, stores=stores, hours=hours, seed=seed)
    try:
        state = run_live_demo(setup)
    except (DemoError, IngestError, StoreError, OSError) as error:
        raise fail(str(error)) from error
    out.print(
        f"Stopped. {state.alerts} alert(s), {state.incidents} incident(s), "
        f"{state.runs} playbook run(s) in {data}."
    )
