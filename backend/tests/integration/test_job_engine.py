"""The taskiq job engines against a real Redis: what carries job ids, and the workarounds for
what taskiq-redis does not hold (../shared/notes/taskiq-redis.md). Redis database 13 is this
file's own: it is flushed before and after each test (the stream names are fixed)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest_asyncio
from redis.asyncio import Redis

from app.application.tasks import cancel_and_wait
from app.infrastructure.adapters.job_engine import (
    JOB_STREAM,
    WORKER_GROUP,
    RedisStreamJobEngine,
    TaskiqJobEngine,
)

REDIS_URL = os.environ.get("TEST_REDIS_ENGINE_URL", "redis://127.0.0.1:6379/13")


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


class Recorder:
    def __init__(self) -> None:
        self.ran: list[UUID] = []
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self, job_id: UUID) -> None:
        await self.release.wait()
        self.ran.append(job_id)


async def until(condition: object, seconds: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.02)


async def started_engine(concurrency: int = 4, maxlen: int = 1_000) -> RedisStreamJobEngine:
    return TaskiqJobEngine.redis_streams(REDIS_URL, concurrency=concurrency, maxlen=maxlen)


async def test_ids_sent_through_the_stream_are_run_once_each(redis: Redis) -> None:
    recorder = Recorder()
    sender = await started_engine()
    worker = await started_engine()
    await sender.start()
    await worker.start(recorder)
    consuming = asyncio.create_task(worker.consume())
    ids = [uuid4() for _ in range(50)]
    try:
        await sender.send(ids)
        await until(lambda: len(recorder.ran) == 50)
    finally:
        await cancel_and_wait(consuming)
        await worker.close()
        await sender.close()
    assert sorted(recorder.ran) == sorted(ids)
    # Each id was acknowledged as it was taken: nothing waits for taskiq's XAUTOCLAIM.
    pending = await redis.xpending(JOB_STREAM, WORKER_GROUP)
    assert pending["pending"] == 0


async def test_the_stream_is_trimmed_to_about_its_bound(redis: Redis) -> None:
    sender = await started_engine(maxlen=100)
    await sender.start()
    try:
        await sender.send([uuid4() for _ in range(2_000)])
    finally:
        await sender.close()
    # Approximate trimming removes whole nodes of entries: a little over the bound, never all.
    assert 100 <= await redis.xlen(JOB_STREAM) < 400


async def test_a_worker_holds_no_more_ids_than_its_concurrency(redis: Redis) -> None:
    recorder = Recorder()
    recorder.release.clear()  # every job blocks until released
    sender = await started_engine()
    worker = await started_engine(concurrency=2)
    await sender.start()
    await worker.start(recorder)
    consuming = asyncio.create_task(worker.consume())
    try:
        await sender.send([uuid4() for _ in range(10)])
        await asyncio.sleep(1.5)  # time to read more, were it allowed to
        info = await redis.xinfo_groups(JOB_STREAM)
        delivered_unread = info[0]["lag"]
        assert delivered_unread >= 10 - 2 - 2  # at most 2 running plus 2 read ahead
        recorder.release.set()
        await until(lambda: len(recorder.ran) == 10)
    finally:
        await cancel_and_wait(consuming)
        await worker.close()
        await sender.close()


async def test_an_unreadable_message_is_dropped_and_the_next_runs(redis: Redis) -> None:
    recorder = Recorder()
    worker = await started_engine()
    await worker.start(recorder)
    consuming = asyncio.create_task(worker.consume())
    good = uuid4()
    try:
        await asyncio.sleep(0.3)  # the group exists
        await redis.xadd(JOB_STREAM, {b"data": b"not a taskiq message"})
        await worker.send([good])
        await until(lambda: recorder.ran == [good])
    finally:
        await cancel_and_wait(consuming)
        await worker.close()


async def test_the_consumer_survives_a_flush_and_recreates_its_group(redis: Redis) -> None:
    recorder = Recorder()
    worker = await started_engine()
    await worker.start(recorder)
    consuming = asyncio.create_task(worker.consume())
    first, second = uuid4(), uuid4()
    try:
        await worker.send([first])
        await until(lambda: recorder.ran == [first])
        await redis.flushdb()  # taskiq's own loop dies here ("UNBLOCKED … no longer exists")
        await asyncio.sleep(1.5)  # the blocked read fails, the loop waits and reads again
        await worker.send([second])
        await until(lambda: recorder.ran == [first, second])
    finally:
        await cancel_and_wait(consuming)
        await worker.close()
    assert not consuming.done() or consuming.cancelled()
    groups = await redis.xinfo_groups(JOB_STREAM)
    assert [group["name"] for group in groups] == [WORKER_GROUP.encode()]
