"""The limiter on the real Redis server: counts, refusals, windows, sharing, and failing closed."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from redis.asyncio import Redis

from app.application.errors import DependencyUnavailableError, RateLimitedError
from app.infrastructure.adapters.rate_limiter import KEY_PREFIX, LimitsRateLimiter, hashed_key

pytestmark = pytest.mark.redis

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest_asyncio.fixture
async def limit_name(redis: Redis) -> AsyncIterator[str]:
    """A limit name of this test alone; its keys are deleted afterwards."""
    name = f"test-{uuid.uuid4().hex}"
    yield name
    keys = [key async for key in redis.scan_iter(f"{KEY_PREFIX}:{name}/*")]
    if keys:
        await redis.delete(*keys)


def on_redis(redis: Redis, limits: dict[str, str]) -> LimitsRateLimiter:
    return LimitsRateLimiter.build(limits, enabled=True, redis_url=REDIS_URL, redis=redis)


async def test_counts_then_refuses_with_retry_after(redis: Redis, limit_name: str) -> None:
    limiter = on_redis(redis, {limit_name: "3/minute"})
    for _ in range(3):
        await limiter.hit(limit_name, "198.51.100.1")
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit(limit_name, "198.51.100.1")
    assert 59 <= refused.value.retry_after_seconds <= 60
    await limiter.hit(limit_name, "198.51.100.2")  # another key, its own budget


async def test_window_frees_up_after_it_passes(redis: Redis, limit_name: str) -> None:
    limiter = on_redis(redis, {limit_name: "2/2 seconds"})
    await limiter.hit(limit_name, "k")
    await limiter.hit(limit_name, "k")
    with pytest.raises(RateLimitedError) as refused:
        await limiter.hit(limit_name, "k")
    assert refused.value.retry_after_seconds <= 2
    await asyncio.sleep(2.1)
    await limiter.hit(limit_name, "k")


async def test_two_limiters_share_the_count(redis: Redis, limit_name: str) -> None:
    # Two app processes, each with its own limiter and connection pool, against one Redis.
    first = LimitsRateLimiter.on_redis(REDIS_URL, {limit_name: "3/minute"})
    second = LimitsRateLimiter.on_redis(REDIS_URL, {limit_name: "3/minute"})
    await first.hit(limit_name, "alice@example.com")
    await second.hit(limit_name, "alice@example.com")
    await first.hit(limit_name, "alice@example.com")
    with pytest.raises(RateLimitedError):
        await second.hit(limit_name, "alice@example.com")


async def test_keys_are_namespaced_and_hashed(redis: Redis, limit_name: str) -> None:
    limiter = on_redis(redis, {limit_name: "5/minute"})
    await limiter.hit(limit_name, "alice@example.com")
    keys = [key.decode() async for key in redis.scan_iter(f"{KEY_PREFIX}:{limit_name}/*")]
    assert keys == [f"strata:ratelimit:{limit_name}/{hashed_key('alice@example.com')}/5/1/minute"]
    assert 0 < await redis.ttl(keys[0]) <= 60  # Redis forgets it by itself


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_redis_down_fails_closed_with_retry_after_and_says_so_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    down = f"redis://127.0.0.1:{_closed_port()}/0"
    client = Redis.from_url(down)
    limiter = LimitsRateLimiter.build(
        {"login_ip": "5/minute"}, enabled=True, redis_url=down, redis=client
    )
    with (
        caplog.at_level(logging.WARNING, logger="strata.rate_limit"),
        pytest.raises(DependencyUnavailableError) as unavailable,
    ):
        await limiter.hit("login_ip", "198.51.100.1")
    assert unavailable.value.retry_after_seconds >= 1
    assert [record.getMessage() for record in caplog.records] == ["rate-limit storage unavailable"]
    assert "198.51.100.1" not in caplog.text  # the key (an address, an account) stays out
    await client.aclose()


async def test_hung_redis_fails_closed_within_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server that accepts the connection and never answers.
    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(10)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr("app.infrastructure.adapters.rate_limiter.STORAGE_TIMEOUT_SECONDS", 0.2)
    limiter = LimitsRateLimiter.on_redis(f"redis://127.0.0.1:{port}/0", {"api": "5/minute"})
    try:
        with pytest.raises(DependencyUnavailableError):
            await limiter.hit("api", "k")
    finally:
        server.close()


async def test_a_socket_closed_under_the_client_fails_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # uvloop's transport raises RuntimeError when Redis closed the socket mid-command; limits does
    # not wrap it. It must be a 503 like any other storage failure, not a 500.
    limiter = LimitsRateLimiter.on_redis(REDIS_URL, {"api": "5/minute"})

    async def closed_transport(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    monkeypatch.setattr(limiter._strategy, "hit", closed_transport)
    with pytest.raises(DependencyUnavailableError):
        await limiter.hit("api", "k")
