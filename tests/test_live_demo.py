"""`vigil demo --live`: the feed's pieces, and a short accelerated run end to end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from vigil.cli_live import LiveDemoSetup, LiveDemoState, run_live_demo
from vigil.cli_live_feed import (
    DemoError,
    DemoStoppedError,
    HttpFeed,
    default_start,
    demo_estate,
    initialise,
    simulate_world,
)
from vigil.cli_live_pipeline import lateness_for
from vigil.config import load_settings
from vigil.estate import load_estate
from vigil.store.database import Database
from vigil.store.models import Incident


@pytest.mark.parametrize(
    ("now", "hours", "expected"),
    [
        (datetime(2026, 12, 1, 19, 30, tzinfo=UTC), 4, datetime(2026, 12, 1, 15, tzinfo=UTC)),
        (datetime(2026, 12, 1, 18, 59, tzinfo=UTC), 4, datetime(2026, 11, 30, 15, tzinfo=UTC)),
        (datetime(2026, 12, 1, 3, tzinfo=UTC), 1, datetime(2026, 11, 30, 15, tzinfo=UTC)),
    ],
)
def test_the_replayed_day_starts_at_us_morning_and_ends_before_now(
    now: datetime, hours: float, expected: datetime
) -> None:
    assert default_start(now, hours) == expected


def test_lateness_grows_with_the_replay_speed() -> None:
    assert lateness_for(1) == timedelta(minutes=10)
    assert lateness_for(120) == timedelta(hours=2)


@dataclass
class FakeClock:
    now: float = 0.0

    def __call__(self) -> float:
        return self.now


def test_http_feed_gathers_lines_per_source_and_waits_out_a_busy_pipeline() -> None:
    posts: list[tuple[str, str]] = []
    answers = iter([429, 202, 202])

    def handle(request: httpx.Request) -> httpx.Response:
        posts.append((request.headers["X-Vigil-Source"], request.content.decode()))
        return httpx.Response(next(answers), headers={"Retry-After": "0"})

    clock = FakeClock()
    feed = HttpFeed(
        "http://ingest/ingest",
        threading.Event(),
        every=0.5,
        clock=clock,
        transport=httpx.MockTransport(handle),
    )
    feed.send("pos", ['{"a":1}'])
    feed.send("web", ["GET /"])
    feed.send("pos", ['{"b":2}'])
    assert posts == []  # gathered, not sent line by line
    clock.now = 0.6
    feed.send("pos", ['{"c":3}'])
    assert posts == [
        ("pos", '{"a":1}\n{"b":2}\n{"c":3}\n'),  # refused with 429 ...
        ("pos", '{"a":1}\n{"b":2}\n{"c":3}\n'),  # ... and sent again
        ("web", "GET /\n"),
    ]
    feed.close()


def test_http_feed_ends_the_replay_when_the_demo_stops() -> None:
    stop = threading.Event()
    feed = HttpFeed(
        "http://ingest/ingest",
        stop,
        transport=httpx.MockTransport(lambda request: httpx.Response(429)),
    )
    feed.send("pos", ["{}"])
    stop.set()
    with pytest.raises(DemoStoppedError):
        feed.flush()
    feed.close()


def test_a_fresh_data_folder_holds_the_generated_estate(tmp_path: Path) -> None:
    data = tmp_path / "demo"
    estate = demo_estate(2, seed=3)
    initialise(data, estate)
    (data / "lake" / "leftover").write_text("x")
    initialise(data, estate)  # a demo folder is emptied and made again
    settings = load_settings(data)
    assert load_estate(settings.estate_path) == estate
    assert not (data / "lake" / "leftover").exists()
    database = Database.open(settings.database_url)
    assert database.verify_audit() == 1
    database.close()


def test_a_folder_that_is_not_vigils_is_never_emptied(tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(DemoError, match="not a Vigil data folder"):
        initialise(tmp_path, demo_estate(1, seed=3))
    assert (tmp_path / "thesis.tex").exists()


def test_unknown_scenarios_are_named(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="unknown scenarios: nosuch"):
        simulate_world(
            demo_estate(1, seed=3),
            datetime(2026, 12, 1, 15, tzinfo=UTC),
            1.0,
            3,
            tmp_path,
            ["card_testing", "nosuch"],
        )


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveDemoState, Path]]:
    """A short live demo on free ports: one store, an hour at 600x, two scenarios."""
    setup = LiveDemoSetup(
        tmp_path / "demo",
        port=0,
        stores=1,
        hours=1.0,
        speed=600,
        scenarios=("card_testing", "guest_wifi_scan"),
        start=datetime(2026, 11, 30, 15, tzinfo=UTC),
    )
    stop, state = threading.Event(), LiveDemoState()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            run_live_demo(setup, stop, state)
        except BaseException as error:  # surfaced by the test below
            failures.append(error)
            state.ready.set()

    runner = threading.Thread(target=run)
    runner.start()
    try:
        assert state.ready.wait(120)
        assert not failures
        yield state, setup.data
    finally:
        stop.set()
        runner.join(60)
    assert not runner.is_alive()
    assert not failures


def _incidents(client: httpx.Client) -> list[dict[str, object]]:
    """The queue as the demo account sees it, once it has something (or after a while)."""
    for _ in range(240):
        items: list[dict[str, object]] = client.get("/api/incidents").json()["items"]
        if items:
            return items
        time.sleep(0.5)
    return []


@pytest.mark.slow
def test_the_live_demo_streams_telemetry_into_incidents_the_console_shows(
    live: tuple[LiveDemoState, Path],
) -> None:
    state, data = live
    with httpx.Client(base_url=state.console_url, timeout=30) as client:
        signed_in = client.post(
            "/api/auth/login", json={"username": state.username, "password": state.password}
        )
        assert signed_in.status_code == 200
        assert signed_in.json()["user"]["roles"][-1] == "admin"
        items = _incidents(client)
        assert items, "no incident reached the console"
        detail = client.get(f"/api/incidents/{items[0]['uid']}").json()
        assert detail["alerts"]
        assert detail["timeline"]
        wrong = client.post("/api/auth/login", json={"username": "demo", "password": "demo"})
        assert wrong.status_code == 401  # no default password
    database = Database.open(load_settings(data).database_url)
    with database.session() as session:
        stored = session.scalar(select(func.count()).select_from(Incident))
    database.close()
    assert stored is not None
    assert stored >= len(items)
    assert state.ingest_url.startswith("http://127.0.0.1:")
    assert (data / "feed" / "wifi" / "radius-detail.log").exists()  # the tailer's route
