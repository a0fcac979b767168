"""Conformance tests for every Bus implementation (the NATS one will join the list)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from vigil.bus import Bus, BusError, MemoryBus, decode_batch, encode_batch, subject_matches
from vigil.events import EventBatch, NetworkActivity


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


BUSES: dict[str, Callable[[FakeClock], Bus]] = {"memory": lambda clock: MemoryBus(clock=clock)}


@pytest.fixture(params=list(BUSES))
def make_bus(request: pytest.FixtureRequest) -> Callable[[FakeClock], Bus]:
    return BUSES[request.param]


def run(coroutine: object) -> object:
    return asyncio.run(coroutine)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("events.>", "events.031.pos", True),
        ("events.>", "events", False),
        ("events.*.pos", "events.031.pos", True),
        ("events.*.pos", "events.031.door", False),
        ("events.*", "events.031.pos", False),
        ("events.031.pos", "events.031.pos", True),
    ],
)
def test_subject_matching(pattern: str, subject: str, matches: bool) -> None:
    assert subject_matches(pattern, subject) is matches


def test_publish_and_fetch_in_order(make_bus: Callable[[FakeClock], Bus]) -> None:
    async def scenario() -> None:
        bus = make_bus(FakeClock())
        for index in range(5):
            await bus.publish(f"events.031.{'pos' if index % 2 else 'door'}", f"m{index}".encode())
        subscription = await bus.subscribe("events.*.pos", durable="pos-worker")
        messages = await subscription.fetch(batch=10, timeout=0.1)
        assert [m.data for m in messages] == [b"m1", b"m3"]
        for message in messages:
            await message.ack()
        assert await subscription.fetch(batch=10, timeout=0.05) == []
        await bus.close()

    run(scenario())


def test_durable_subscription_resumes_where_it_stopped(
    make_bus: Callable[[FakeClock], Bus],
) -> None:
    async def scenario() -> None:
        bus = make_bus(FakeClock())
        for index in range(4):
            await bus.publish("events.031.pos", bytes([index]))
        first = await bus.subscribe("events.>", durable="lake-writer")
        for message in await first.fetch(batch=2, timeout=0.1):
            await message.ack()
        await first.close()
        again = await bus.subscribe("events.>", durable="lake-writer")
        rest = await again.fetch(batch=10, timeout=0.1)
        assert [m.data for m in rest] == [bytes([2]), bytes([3])]
        other = await bus.subscribe("events.>", durable="detector")
        assert len(await other.fetch(batch=10, timeout=0.1)) == 4

    run(scenario())


def test_unacknowledged_messages_are_redelivered(make_bus: Callable[[FakeClock], Bus]) -> None:
    async def scenario() -> None:
        clock = FakeClock()
        bus = make_bus(clock)
        await bus.publish("events.031.pos", b"a")
        await bus.publish("events.031.pos", b"b")
        subscription = await bus.subscribe("events.>", durable="w", ack_wait=30)
        first = await subscription.fetch(batch=10, timeout=0.1)
        await first[0].ack()
        assert await subscription.fetch(batch=10, timeout=0.05) == []
        clock.now = 31
        again = await subscription.fetch(batch=10, timeout=0.1)
        assert [(m.data, m.delivery) for m in again] == [(b"b", 2)]

    run(scenario())


def test_fetch_waits_for_a_message_published_later(make_bus: Callable[[FakeClock], Bus]) -> None:
    async def scenario() -> None:
        bus = make_bus(FakeClock())
        subscription = await bus.subscribe("events.>", durable="w")

        async def later() -> None:
            await asyncio.sleep(0.05)
            await bus.publish("events.044.door", b"late")

        task = asyncio.create_task(later())
        messages = await subscription.fetch(batch=1, timeout=2)
        await task
        assert [m.data for m in messages] == [b"late"]

    run(scenario())


@pytest.mark.parametrize("subject", ["", "events..pos", "events.>", "events.*", "has space"])
def test_invalid_publish_subjects_are_refused(
    make_bus: Callable[[FakeClock], Bus], subject: str
) -> None:
    async def scenario() -> None:
        with pytest.raises(BusError):
            await make_bus(FakeClock()).publish(subject, b"x")

    run(scenario())


def test_event_batches_travel_as_arrow(sample_events: list[object]) -> None:
    flows = [event for event in sample_events if isinstance(event, NetworkActivity)]
    batch = EventBatch.from_events(flows)
    data, headers = encode_batch(batch)
    back = decode_batch(data, headers)
    assert back.event_class is NetworkActivity
    assert back.table.equals(batch.table)
    with pytest.raises(BusError, match="header"):
        decode_batch(data, {})
    with pytest.raises(BusError, match="not an event batch"):
        decode_batch(b"garbage", headers)
