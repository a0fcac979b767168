"""Console page latency: the queue and incident APIs over 1,000,000 alerts and 100,000 incidents.

The data folder is built by `bench.console_data` (SQLite in a temporary folder;
`--events` is the number of alerts, a tenth of it incidents). The console is
served by uvicorn in its own process, as `vigil console serve` runs it, and
requests go over HTTP from this one, one at a time, signed in as two analysts:
`everyone` (scope `*`) and `manager` (scope: one store of `STORES`). Per user:

- queue, first page: `GET /api/incidents?limit=50`;
- queue, filtered: open statuses named, `min_risk=50`;
- queue, deep page: the cursor of the row 90% of the way down the user's queue;
- queue, search: `q=POS` (title text);
- incident page: `GET /api/incidents/{uid}`, a different in-scope incident each time.

Each case: `WARMUP` requests first, then `100 * repeat` (fewer when a case runs past
`BUDGET_S`, never under `LEAST`); the figures are p50 and p95 in milliseconds,
against the target of 300 ms at p95. The queue is asked as the queue screen asks
(the open statuses named).
`VIGIL_BENCH_CONSOLE_DIR` keeps the built folder between runs.
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from bench.console_data import HOME, PASSWORD, USERS, build
from bench.types import Figure
from vigil.console.incidents.queries import encode_cursor

TARGET_MS = 300.0
WARMUP = 3
BUDGET_S = 60.0
LEAST = 20
TIMEOUT_S = 120.0
OPEN = ("new", "acknowledged", "contained", "reopened")
QUEUE = f"/api/incidents?status={','.join(OPEN)}&limit=50"
"""What the queue screen asks for first."""


@dataclass(frozen=True)
class Case:
    """One kind of request: a name and the paths to cycle through."""

    name: str
    paths: list[str]


def run(events: int, repeat: int) -> list[Figure]:
    kept = os.environ.get("VIGIL_BENCH_CONSOLE_DIR")
    root = Path(kept) if kept else Path(tempfile.mkdtemp(prefix="vigil-console-bench-"))
    folder = root / "data"
    console = Console()
    try:
        if not (folder / "vigil.db").exists():
            started = time.perf_counter()
            total = build(folder, events // 10)
            console.print(
                f"[dim]built {total:,} incidents in {time.perf_counter() - started:.0f} s[/]"
            )
        figures: list[Figure] = []
        with serving(folder) as url:
            for user in USERS:
                with httpx.Client(base_url=url, timeout=60) as client:
                    answer = client.post(
                        "/api/auth/login", json={"username": user, "password": PASSWORD}
                    )
                    answer.raise_for_status()
                    for case in cases(folder, user):
                        figures += measure(client, case, user, 100 * repeat)
        return figures
    finally:
        if not kept:
            shutil.rmtree(root, ignore_errors=True)


def cases(folder: Path, user: str) -> list[Case]:
    """The requests of each case for `user`, from the database as built."""
    scoped = user != "everyone"
    where = f"status IN ({', '.join(repr(status) for status in OPEN)})"
    if scoped:
        where += f" AND store_uid = '{HOME}'"
    with sqlite3.connect(folder / "vigil.db") as connection:
        queue = connection.execute(
            f"SELECT risk, uid FROM incidents WHERE {where} ORDER BY risk DESC, uid"
        ).fetchall()
    deep = queue[int(len(queue) * 0.9)]
    picked = random.Random(7).sample([uid for _, uid in queue], min(len(queue), 500))
    return [
        Case("queue first page", [QUEUE]),
        Case("queue filtered", [f"/api/incidents?status={','.join(OPEN[:2])}&min_risk=50"]),
        Case("queue deep page", [f"{QUEUE}&cursor={encode_cursor(*deep)}"]),
        Case("queue search", [f"{QUEUE}&q=POS"]),
        Case("incident page", [f"/api/incidents/{uid}" for uid in picked]),
    ]


def measure(client: httpx.Client, case: Case, user: str, requests: int) -> list[Figure]:
    """p50 and p95 of `requests` requests after `WARMUP` others; fewer once the case has run
    `BUDGET_S` (at least `LEAST`); a request past `TIMEOUT_S` ends the case, reported as
    taking the timeout (a lower bound)."""
    name = f"{case.name} ({user})"
    took: list[float] = []
    began = time.perf_counter()
    for index in range(WARMUP + requests):
        path = case.paths[index % len(case.paths)]
        started = time.perf_counter()
        try:
            answer = client.get(path, timeout=TIMEOUT_S)
        except httpx.TimeoutException:
            took.append(TIMEOUT_S * 1000)
            Console().print(f"[red]{name}: a request took over {TIMEOUT_S:.0f} s[/]")
            break
        elapsed = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
        if index >= WARMUP:
            took.append(elapsed * 1000)
        spent = time.perf_counter() - began
        if spent > BUDGET_S and (len(took) >= LEAST or spent > 3 * BUDGET_S):
            break
    took = took or [TIMEOUT_S * 1000]
    cuts = statistics.quantiles(took, n=100, method="inclusive") if len(took) > 1 else took * 99
    p50, p95 = cuts[49], cuts[94]
    Console().print(
        f"[dim]{name}: {len(took)} requests, p50 {p50:,.0f} ms, p95 {p95:,.0f} ms[/]",
        highlight=False,
    )
    return [
        Figure(f"{name} p50", p50, "ms"),
        Figure(f"{name} p95", p95, "ms", TARGET_MS, "target"),
    ]


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The console over `folder` in a uvicorn process of its own; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.console", str(folder), str(port)],
        cwd=Path(__file__).parent.parent,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{url}/api/setup", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if process.poll() is not None:
                    raise RuntimeError("the console process ended") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)


def serve(folder: Path, port: int) -> None:
    """What the child process runs: the console, as `vigil console serve` does."""
    import uvicorn

    from vigil.console.app import create_app
    from vigil.console.settings import ConsoleSettings

    app = create_app(ConsoleSettings(data=folder, allow_http=True))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    serve(Path(sys.argv[1]), int(sys.argv[2]))
