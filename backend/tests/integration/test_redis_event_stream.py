"""Domain events over a real Redis Stream: publishing, group consumers (split, retried, poison,
unreadable entries, a lost group), followers, trimming, stopping, and Redis being away."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from uuid import UUID, uuid4

import pytest
import pytest_asyncio
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from app.application.services.events import LEFTOVER_AGE, OutboxRelay
from app.domain.events import DomainEvent
from app.domain.events.payment import PaymentFailed, PaymentSucceeded
from app.domain.events.user import UserRegistered
from app.infrastructure.adapters.redis_event_stream import (
    EventStreamFollower,
    EventStreamGroupConsumer,
    RedisStreamEventPublisher,
    stream_reader_client,
)
from tests.fakes import DEFAULT_NOW, FakeClock, FakeUnitOfWork

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# FLUSHDB wipes a whole database: not the one other tests keep their keys in while they run.
FLUSHABLE_REDIS_URL = os.environ.get("TEST_REDIS_FLUSHABLE_URL", "redis://127.0.0.1:6379/14")
SHORT_BLOCK_MS = 50


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamProbeHappened(DomainEvent):
    """An event about nothing in particular (no aggregate), for these tests alone."""

    note: str


def payment_succeeded(**overrides: object) -> PaymentSucceeded:
    event = PaymentSucceeded(
        occurred_at=DEFAULT_NOW,
        payment_id=uuid4(),
        user_id=uuid4(),
        amount_cents=1999,
        currency="eur",
    )
    return replace(event, **overrides)  # type: ignore[arg-type]


def varied_events() -> list[DomainEvent]:
    return [
        payment_succeeded(user_id=None),  # an erased user's payment
        PaymentFailed(
            occurred_at=DEFAULT_NOW,
            payment_id=uuid4(),
            user_id=uuid4(),
            amount_cents=500,
            currency="usd",
            failure_code="card_declined",
        ),
        UserRegistered(occurred_at=DEFAULT_NOW, user_id=uuid4()),
        StreamProbeHappened(occurred_at=DEFAULT_NOW, note='ünïcode "quoted" {json}'),
    ]


def identified(events: Sequence[DomainEvent]) -> list[tuple[UUID, DomainEvent]]:
    """Each event with its id, which event equality leaves out."""
    return [(event.event_id, event) for event in events]


class Handled:
    """A handler that records what it was given, and fails for the events it is told to."""

    def __init__(self, *, fail_times: dict[UUID, int] | None = None) -> None:
        self.events: list[DomainEvent] = []
        self.attempts: Counter[UUID] = Counter()
        self._fail_times = fail_times or {}

    async def __call__(self, event: DomainEvent) -> None:
        self.attempts[event.event_id] += 1
        if self.attempts[event.event_id] <= self._fail_times.get(event.event_id, 0):
            raise RuntimeError("handler failed")
        self.events.append(event)

    def ids(self) -> list[UUID]:
        return [event.event_id for event in self.events]


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]], *, within: float = 5.0
) -> None:
    deadline = time.monotonic() + within
    while True:
        met = condition()
        if met if isinstance(met, bool) else await met:
            return
        if time.monotonic() > deadline:
            pytest.fail("the condition did not become true in time")
        await asyncio.sleep(0.01)


def entry_of(event: DomainEvent) -> dict[str, str]:
    """The fields of the stream entry of `event`, written by hand."""
    return {
        "id": str(event.event_id),
        "type": event.name,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": json.dumps(event.payload()),
    }


@asynccontextmanager
async def running(
    reader: EventStreamGroupConsumer | EventStreamFollower,
) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(reader.run(stop))
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def stream(redis: Redis) -> AsyncIterator[str]:
    """A stream key of this test alone, deleted afterwards."""
    key = f"test:events:{uuid.uuid4().hex}"
    yield key
    await redis.delete(key)


def consumer(
    stream: str,
    handle: Callable[[DomainEvent], Awaitable[None]],
    *,
    group: str = "workers",
    name: str = "worker-1",
    url: str = REDIS_URL,
    **options: object,
) -> EventStreamGroupConsumer:
    return EventStreamGroupConsumer(
        lambda: stream_reader_client(url),
        stream=stream,
        group=group,
        consumer_name=name,
        handle=handle,
        **{"block_ms": SHORT_BLOCK_MS, **options},  # type: ignore[arg-type]
    )


async def pending(redis: Redis, stream: str, group: str = "workers") -> int:
    return int((await redis.xpending(stream, group))["pending"])


async def _none_pending(redis: Redis, stream: str) -> bool:
    return await pending(redis, stream) == 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------- publishing


async def test_an_entry_carries_the_event_as_flat_fields(redis: Redis, stream: str) -> None:
    probe = StreamProbeHappened(occurred_at=DEFAULT_NOW, note="n")
    paid = payment_succeeded()

    await RedisStreamEventPublisher(redis, stream=stream).publish([probe, paid])

    entries = [
        {key.decode(): value.decode() for key, value in fields.items()}
        for _, fields in await redis.xrange(stream)
    ]
    assert entries[0] == {
        "id": str(probe.event_id),
        "type": "StreamProbeHappened",
        "aggregate_id": "",
        "occurred_at": DEFAULT_NOW.isoformat(),
        "schema_version": "1",
        "payload": '{"note":"n"}',
    }
    assert entries[1]["aggregate_id"] == str(paid.payment_id)
    assert json.loads(entries[1]["payload"])["amount_cents"] == 1999


async def test_maxlen_bounds_the_stream(redis: Redis, stream: str) -> None:
    publisher = RedisStreamEventPublisher(redis, stream=stream, maxlen=100)
    for _ in range(20):
        await publisher.publish([payment_succeeded() for _ in range(100)])

    # Trimming is approximate (whole radix-tree nodes), never far above the bound.
    assert 100 <= await redis.xlen(stream) < 200


async def test_publish_raises_when_redis_is_unreachable() -> None:
    client = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0")
    with pytest.raises(RedisConnectionError):
        await RedisStreamEventPublisher(client).publish([payment_succeeded()])
    await client.aclose()


async def test_the_relay_leaves_events_unpublished_until_the_stream_takes_them(
    redis: Redis, stream: str
) -> None:
    uow, clock = FakeUnitOfWork(), FakeClock()
    event = payment_succeeded()
    async with uow:
        await uow.outbox.add([event], clock.now())
        await uow.commit()
    down = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0")

    # No exception for the caller: its change is committed. The event waits in the outbox.
    await OutboxRelay(lambda: uow, RedisStreamEventPublisher(down, stream=stream), clock).relay(
        [event]
    )
    async with uow:
        assert await uow.outbox.unpublished(10) == [event]
    clock.advance(LEFTOVER_AGE * 2)
    with pytest.raises(RedisConnectionError):  # the leftover relay raises: its task retries
        await OutboxRelay(
            lambda: uow, RedisStreamEventPublisher(down, stream=stream), clock
        ).relay_leftovers()

    relayed = await OutboxRelay(
        lambda: uow, RedisStreamEventPublisher(redis, stream=stream), clock
    ).relay_leftovers()
    assert relayed == 1
    async with uow:
        assert await uow.outbox.unpublished(10) == []
    assert await redis.xlen(stream) == 1
    await down.aclose()


# ---------------------------------------------------------------- group consumers


async def test_each_event_is_handled_once_and_restored_equal(redis: Redis, stream: str) -> None:
    events = varied_events()
    handled = Handled()
    await RedisStreamEventPublisher(redis, stream=stream).publish(events[:2])

    async with running(consumer(stream, handled)):
        await RedisStreamEventPublisher(redis, stream=stream).publish(events[2:])
        await eventually(lambda: len(handled.events) == len(events))

    assert identified(handled.events) == identified(events)
    assert [type(event) for event in handled.events] == [type(event) for event in events]
    assert await pending(redis, stream) == 0


async def test_two_consumers_of_one_group_split_the_events(redis: Redis, stream: str) -> None:
    events = [payment_succeeded() for _ in range(500)]
    first, second = Handled(), Handled()

    async with (
        running(consumer(stream, first, name="worker-1", count=20)),
        running(consumer(stream, second, name="worker-2", count=20)),
    ):
        for start in range(0, 500, 50):
            await RedisStreamEventPublisher(redis, stream=stream).publish(
                events[start : start + 50]
            )
            await asyncio.sleep(0.005)  # let both consumers come back for more
        await eventually(lambda: len(first.events) + len(second.events) >= 500)

    handled = Counter(first.ids() + second.ids())
    assert handled == Counter(event.event_id for event in events)  # each one exactly once
    assert first.events
    assert second.events
    assert await pending(redis, stream) == 0


async def test_each_group_sees_every_event(redis: Redis, stream: str) -> None:
    events = [payment_succeeded() for _ in range(20)]
    mails, ledger = Handled(), Handled()

    async with (
        running(consumer(stream, mails, group="mails")),
        running(consumer(stream, ledger, group="ledger")),
    ):
        await RedisStreamEventPublisher(redis, stream=stream).publish(events)
        await eventually(lambda: len(mails.events) == 20 and len(ledger.events) == 20)

    assert mails.ids() == ledger.ids() == [event.event_id for event in events]


async def test_a_failed_event_is_claimed_again_on_an_idle_stream(redis: Redis, stream: str) -> None:
    flaky = payment_succeeded()
    handled = Handled(fail_times={flaky.event_id: 1})

    async with running(consumer(stream, handled, claim_idle_ms=100)):
        await RedisStreamEventPublisher(redis, stream=stream).publish([flaky])
        await eventually(lambda: handled.ids() == [flaky.event_id])

    assert handled.attempts[flaky.event_id] == 2
    assert await pending(redis, stream) == 0


async def test_a_consumer_claims_what_a_dead_one_left(redis: Redis, stream: str) -> None:
    events = [payment_succeeded() for _ in range(3)]
    await RedisStreamEventPublisher(redis, stream=stream).publish(events)
    await redis.xgroup_create(stream, "workers", id="0")
    # A consumer that read them and died before acking.
    await redis.xreadgroup("workers", "dead-worker", {stream: ">"}, count=10)
    handled = Handled()

    async with running(consumer(stream, handled, claim_idle_ms=50)):
        await eventually(lambda: len(handled.events) == 3)

    assert handled.ids() == [event.event_id for event in events]
    assert await pending(redis, stream) == 0


async def test_a_poison_event_is_dropped_after_its_deliveries_and_others_flow(
    redis: Redis, stream: str
) -> None:
    poison, later, last = payment_succeeded(), payment_succeeded(), payment_succeeded()
    handled = Handled(fail_times={poison.event_id: 1_000})
    publisher = RedisStreamEventPublisher(redis, stream=stream)

    async with running(consumer(stream, handled, claim_idle_ms=30, max_deliveries=3)):
        await publisher.publish([poison, later])
        await eventually(lambda: handled.ids() == [later.event_id])
        await eventually(lambda: handled.attempts[poison.event_id] == 3)
        await eventually(lambda: _none_pending(redis, stream))
        await publisher.publish([last])
        await eventually(lambda: handled.ids() == [later.event_id, last.event_id])

    assert await pending(redis, stream) == 0  # acked, not left to block
    assert handled.attempts[poison.event_id] == 3  # and never handed out again


@pytest.mark.parametrize(
    "fields",
    [
        {"garbage": "yes"},
        {
            "id": str(uuid4()),
            "type": "NoSuchEvent",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": "{}",
        },
        {
            "id": str(uuid4()),
            "type": "UserRegistered",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": "not json",
        },
        {
            "id": str(uuid4()),
            "type": "UserRegistered",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": "[1, 2]",
        },
        {
            "id": "not-a-uuid",
            "type": "UserRegistered",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": json.dumps({"user_id": str(uuid4())}),
        },
        {
            "id": str(uuid4()),
            "type": "UserRegistered",
            "occurred_at": "yesterday",
            "payload": json.dumps({"user_id": str(uuid4())}),
        },
        {
            "id": str(uuid4()),
            "type": "UserRegistered",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": json.dumps({"user_id": str(uuid4()), "unexpected": 1}),
        },
        {
            "id": str(uuid4()),
            "type": "UserRegistered",
            "occurred_at": "2026-01-01T00:00:00+00:00",
            "payload": "\xff\xfe",
        },
    ],
    ids=[
        "no-fields",
        "unknown-type",
        "bad-json",
        "not-an-object",
        "bad-id",
        "bad-time",
        "unknown-field",
        "bad-bytes",
    ],
)
async def test_an_unreadable_entry_is_skipped_and_acked(
    redis: Redis, stream: str, fields: dict[str, str]
) -> None:
    after = payment_succeeded()
    handled = Handled()
    await redis.xadd(stream, fields)  # type: ignore[arg-type]
    await RedisStreamEventPublisher(redis, stream=stream).publish([after])

    async with running(consumer(stream, handled)):
        await eventually(lambda: handled.ids() == [after.event_id])

    assert await pending(redis, stream) == 0
    assert handled.attempts == Counter({after.event_id: 1})


@dataclass(frozen=True)
class LostStream:
    """A stream of this test alone, and how Redis loses it (flushed, or the key deleted)."""

    url: str
    client: Redis
    key: str
    lose: Callable[[], Awaitable[object]]


@pytest_asyncio.fixture(params=["flushdb", "key-deleted"])
async def lost(request: pytest.FixtureRequest) -> AsyncIterator[LostStream]:
    url = FLUSHABLE_REDIS_URL if request.param == "flushdb" else REDIS_URL
    client = Redis.from_url(url)
    key = f"test:events:{uuid.uuid4().hex}"
    lose = client.flushdb if request.param == "flushdb" else lambda: client.delete(key)
    yield LostStream(url, client, key, lose)
    await client.delete(key)
    await client.aclose()


async def test_a_lost_group_is_recreated_and_events_flow_again(lost: LostStream) -> None:
    before, after = payment_succeeded(), [payment_succeeded() for _ in range(3)]
    handled = Handled()
    recreated = asyncio.Event()

    async def on_group_recreated() -> None:
        recreated.set()

    publisher = RedisStreamEventPublisher(lost.client, stream=lost.key)
    reader = consumer(lost.key, handled, url=lost.url, on_group_recreated=on_group_recreated)

    async with running(reader):
        await publisher.publish([before])
        await eventually(lambda: handled.ids() == [before.event_id])
        await lost.lose()
        await asyncio.wait_for(recreated.wait(), timeout=5)
        await publisher.publish(after)
        await eventually(lambda: len(handled.events) == 4)

    assert handled.ids() == [before.event_id, *(event.event_id for event in after)]
    assert await pending(lost.client, lost.key) == 0


# ---------------------------------------------------------------- followers


async def following(
    publisher: RedisStreamEventPublisher, handled: Handled, *, within: float = 5.0
) -> None:
    """Publish probes until the follower has seen one: from then on it reads every event."""
    deadline = time.monotonic() + within
    while not handled.events:
        if time.monotonic() > deadline:
            pytest.fail("the follower never started following")
        await publisher.publish([StreamProbeHappened(occurred_at=DEFAULT_NOW, note="probe")])
        await asyncio.sleep(0.02)
    handled.events.clear()


def follower(stream: str, handle: Handled, *, url: str = REDIS_URL) -> EventStreamFollower:
    return EventStreamFollower(
        stream_reader_client(url), stream=stream, handle=handle, block_ms=SHORT_BLOCK_MS
    )


async def test_a_follower_sees_what_is_published_after_it_started(
    redis: Redis, stream: str
) -> None:
    publisher = RedisStreamEventPublisher(redis, stream=stream)
    old = payment_succeeded()
    await publisher.publish([old])
    events = varied_events()
    handled = Handled(fail_times={events[0].event_id: 1})  # a failing handler stops nothing

    async with running(follower(stream, handled)):
        await following(publisher, handled)
        await publisher.publish(events)
        await eventually(lambda: len(handled.events) == len(events) - 1)

    assert identified(handled.events) == identified(events[1:])
    assert old.event_id not in handled.attempts


async def test_a_follower_skips_unreadable_entries(redis: Redis, stream: str) -> None:
    publisher = RedisStreamEventPublisher(redis, stream=stream)
    handled = Handled()
    event = payment_succeeded()

    async with running(follower(stream, handled)):
        await following(publisher, handled)
        await redis.xadd(stream, {"type": "NoSuchEvent"})
        await publisher.publish([event])
        await eventually(lambda: handled.ids() == [event.event_id])


async def test_a_follower_follows_the_stream_redis_recreated(lost: LostStream) -> None:
    publisher = RedisStreamEventPublisher(lost.client, stream=lost.key)
    handled = Handled()
    after = payment_succeeded()

    async with running(follower(lost.key, handled, url=lost.url)):
        await following(publisher, handled)
        await lost.lose()
        await asyncio.sleep(SHORT_BLOCK_MS * 3 / 1000)  # let an idle read find the stream gone
        await publisher.publish([after])
        await eventually(lambda: handled.ids() == [after.event_id])


async def test_a_follower_rereads_a_stream_that_went_back_in_time(
    redis: Redis, stream: str
) -> None:
    # A stream restored from an older copy (or a server whose clock is behind) has ids below the
    # last one read: waiting for ids above it would miss everything until then.
    handled = Handled()
    ahead = payment_succeeded()
    behind = payment_succeeded()
    publisher = RedisStreamEventPublisher(redis, stream=stream)

    async with running(follower(stream, handled)):
        await following(publisher, handled)
        await redis.xadd(stream, entry_of(ahead), id="99999999999999-0")  # type: ignore[arg-type]
        await eventually(lambda: handled.ids() == [ahead.event_id])
        # Replaced in one step: the follower never sees the key missing, only older ids.
        async with redis.pipeline(transaction=True) as replaced:
            replaced.delete(stream)
            replaced.xadd(stream, entry_of(behind))  # type: ignore[arg-type]
            await replaced.execute()
        await eventually(lambda: handled.ids() == [ahead.event_id, behind.event_id])


# ---------------------------------------------------------------- stopping and Redis away


@pytest.mark.parametrize("reader", ["group", "follower"])
async def test_stop_ends_run_within_about_one_block(stream: str, reader: str) -> None:
    handled = Handled()
    run: EventStreamGroupConsumer | EventStreamFollower = (
        consumer(stream, handled, block_ms=500)
        if reader == "group"
        else EventStreamFollower(
            stream_reader_client(REDIS_URL), stream=stream, handle=handled, block_ms=500
        )
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    await asyncio.sleep(0.2)  # into a blocking read

    started = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=2)

    assert time.monotonic() - started < 0.5 + 0.3


@pytest.mark.parametrize("reader", ["group", "follower"])
async def test_a_reader_survives_redis_being_unreachable_and_stops(reader: str) -> None:
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    handled = Handled()
    run: EventStreamGroupConsumer | EventStreamFollower = (
        consumer("test:events:nowhere", handled, url=down)
        if reader == "group"
        else EventStreamFollower(
            stream_reader_client(down), stream="test:events:nowhere", handle=handled
        )
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run.run(stop))
    await asyncio.sleep(0.5)  # a few failed attempts, backing off

    assert not task.done()  # still trying, not dead
    stop.set()
    await asyncio.wait_for(task, timeout=1)
