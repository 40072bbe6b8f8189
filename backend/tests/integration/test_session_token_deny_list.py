"""The access-token deny-list: in-process, and on the real Redis; Redis down means 503, never a pass."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from app.application.errors import DependencyUnavailableError
from app.infrastructure.adapters.token_deny_list import InProcessTokenDenyList, RedisTokenDenyList
from tests.fakes import FakeClock

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


async def test_in_process_denies_until_the_token_would_expire() -> None:
    clock = FakeClock()
    deny_list = InProcessTokenDenyList(clock)

    await deny_list.deny("jti-1", until=clock.now() + timedelta(minutes=5))
    await deny_list.deny("jti-past", until=clock.now() - timedelta(seconds=1))

    assert await deny_list.is_denied("jti-1") is True
    assert await deny_list.is_denied("jti-2") is False
    assert await deny_list.is_denied("jti-past") is False
    clock.advance(timedelta(minutes=5))
    assert await deny_list.is_denied("jti-1") is False
    assert len(deny_list) == 0  # forgotten once it no longer matters


async def test_in_process_keeps_the_latest_expiry_of_a_token_denied_twice() -> None:
    clock = FakeClock()
    deny_list = InProcessTokenDenyList(clock)
    await deny_list.deny("jti", until=clock.now() + timedelta(minutes=10))
    await deny_list.deny("jti", until=clock.now() + timedelta(minutes=1))

    clock.advance(timedelta(minutes=2))

    assert await deny_list.is_denied("jti") is True


async def test_in_process_is_bounded_and_refuses_rather_than_forgets_when_full() -> None:
    clock = FakeClock()
    deny_list = InProcessTokenDenyList(clock, max_entries=2)
    await deny_list.deny("short", until=clock.now() + timedelta(minutes=1))
    await deny_list.deny("long", until=clock.now() + timedelta(minutes=15))

    with pytest.raises(DependencyUnavailableError) as refused:
        await deny_list.deny("third", until=clock.now() + timedelta(minutes=15))
    await deny_list.deny("long", until=clock.now() + timedelta(minutes=16))  # already held
    clock.advance(timedelta(minutes=1))
    await deny_list.deny("third", until=clock.now() + timedelta(minutes=15))  # "short" expired

    assert refused.value.retry_after_seconds > 0
    assert [await deny_list.is_denied(t) for t in ("short", "long", "third")] == [False, True, True]
    assert len(deny_list) == 2


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.mark.redis
async def test_redis_denies_with_the_tokens_remaining_life_as_ttl(redis: Redis) -> None:
    clock = FakeClock()
    prefix = f"strata:test:{secrets.token_hex(4)}:"
    deny_list = RedisTokenDenyList(redis, clock, key_prefix=prefix)
    try:
        await deny_list.deny("jti-1", until=clock.now() + timedelta(seconds=90))
        await deny_list.deny("jti-past", until=clock.now() - timedelta(seconds=1))

        assert await deny_list.is_denied("jti-1") is True
        assert await deny_list.is_denied("jti-2") is False
        assert 85_000 <= await redis.pttl(prefix + "jti-1") <= 90_000
        assert await redis.exists(prefix + "jti-past") == 0
        # Another process (another client, same Redis) sees the denial.
        other = Redis.from_url(REDIS_URL)
        try:
            assert await RedisTokenDenyList(other, clock, key_prefix=prefix).is_denied("jti-1")
        finally:
            await other.aclose()
    finally:
        keys = [key async for key in redis.scan_iter(prefix + "*")]
        if keys:
            await redis.delete(*keys)


async def test_redis_down_fails_closed() -> None:
    clock = FakeClock()
    unreachable = Redis.from_url(CLOSED_PORT_URL, socket_connect_timeout=0.5)
    deny_list = RedisTokenDenyList(unreachable, clock)
    try:
        with pytest.raises(DependencyUnavailableError) as checking:
            await deny_list.is_denied("jti")
        with pytest.raises(DependencyUnavailableError):
            await deny_list.deny("jti", until=clock.now() + timedelta(minutes=1))
    finally:
        await unreachable.aclose()

    assert checking.value.retry_after_seconds == 5
