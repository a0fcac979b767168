"""Shared by the ingest tests that run a real connector: serve it, wait, read back.

Each connector runs in a thread with its own event loop, on 127.0.0.1 and an
ephemeral port, and is stopped (and flushed) when the `running` block ends.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from vigil.ingest.connectors import Connector
from vigil.ingest.pipeline import Ingestor
from vigil.store.errors import StoreError
from vigil.store.lake import Lake
from vigil.store.models import DeadLetter

WAIT = 10.0


def needs(tool: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(shutil.which(tool) is None, reason=f"{tool} is not installed")


@contextmanager
def running(connector: Connector[Any]) -> Iterator[Connector[Any]]:
    """The connector served in a thread until the block ends (then flushed and stopped)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(connector.run(stop))
        except BaseException as error:  # reported in the test thread
            failure.append(error)
        finally:
            loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not connector.ready.is_set() and not failure and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        if failure:
            raise failure[0]
        assert connector.ready.is_set(), "connector did not become ready"
        yield connector
    finally:
        if not loop.is_closed():
            loop.call_soon_threadsafe(stop.set)
        thread.join(WAIT)
        assert not thread.is_alive()
    if failure:
        raise failure[0]


def count(lake: Lake, table: str) -> int:
    try:
        value = lake.query(f"SELECT count(*) FROM {table}").rows[0][0]
    except StoreError:
        return 0
    assert isinstance(value, int)
    return value


def wait_for(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def dead_letters(ingestor: Ingestor) -> list[DeadLetter]:
    with ingestor.database.session() as session:
        return list(session.scalars(select(DeadLetter)))
