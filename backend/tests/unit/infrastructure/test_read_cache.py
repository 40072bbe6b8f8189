"""The in-process read cache: time to live, LRU bound, invalidation, one load per key at a time."""

from __future__ import annotations

import asyncio

import pytest

from app.infrastructure.adapters.read_cache import InProcessReadCache


class ManualClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingLoader:
    def __init__(self, value: object = "answer") -> None:
        self.value = value
        self.calls = 0

    async def __call__(self) -> object:
        self.calls += 1
        await asyncio.sleep(0)
        return self.value


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def make_cache(
    clock: ManualClock, *, ttl: float = 5.0, max_entries: int = 100
) -> InProcessReadCache:
    return InProcessReadCache(ttl_seconds=ttl, max_entries=max_entries, clock=clock)


async def test_a_second_read_within_the_ttl_is_served_from_the_cache(clock: ManualClock) -> None:
    cache, load = make_cache(clock), CountingLoader()

    assert await cache.get_or_load("k", load) == "answer"
    clock.now += 4.9
    assert await cache.get_or_load("k", load) == "answer"

    assert load.calls == 1
    assert (cache.hits, cache.misses) == (1, 1)


async def test_an_answer_is_loaded_again_once_its_ttl_is_over(clock: ManualClock) -> None:
    cache, load = make_cache(clock), CountingLoader()
    await cache.get_or_load("k", load)
    clock.now += 5.0
    await cache.get_or_load("k", load)
    assert load.calls == 2


async def test_invalidate_forgets_everything(clock: ManualClock) -> None:
    cache, load = make_cache(clock), CountingLoader()
    await cache.get_or_load("a", load)
    await cache.get_or_load("b", load)
    await cache.invalidate()
    await cache.get_or_load("a", load)
    assert load.calls == 3


async def test_none_is_never_cached(clock: ManualClock) -> None:
    cache, load = make_cache(clock), CountingLoader(value=None)
    assert await cache.get_or_load("missing", load) is None
    assert await cache.get_or_load("missing", load) is None
    assert load.calls == 2


async def test_the_least_recently_used_answer_is_evicted_first(clock: ManualClock) -> None:
    cache, load = make_cache(clock, max_entries=2), CountingLoader()
    await cache.get_or_load("a", load)
    await cache.get_or_load("b", load)
    await cache.get_or_load("a", load)  # "a" is now the most recently used
    await cache.get_or_load("c", load)  # evicts "b"
    assert load.calls == 3
    await cache.get_or_load("a", load)
    assert load.calls == 3
    await cache.get_or_load("b", load)
    assert load.calls == 4


async def test_a_ttl_of_zero_turns_the_cache_off(clock: ManualClock) -> None:
    cache, load = make_cache(clock, ttl=0), CountingLoader()
    await cache.get_or_load("k", load)
    await cache.get_or_load("k", load)
    assert load.calls == 2


async def test_concurrent_misses_share_one_load(clock: ManualClock) -> None:
    cache = make_cache(clock)
    release = asyncio.Event()
    calls = 0

    async def slow_load() -> str:
        nonlocal calls
        calls += 1
        await release.wait()
        return "answer"

    readers = [asyncio.create_task(cache.get_or_load("k", slow_load)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()

    assert await asyncio.gather(*readers) == ["answer"] * 10
    assert calls == 1


async def test_a_failed_load_reaches_every_waiter_and_is_not_cached(clock: ManualClock) -> None:
    cache = make_cache(clock)
    release = asyncio.Event()

    async def failing_load() -> str:
        await release.wait()
        raise ConnectionError("database went away")

    readers = [asyncio.create_task(cache.get_or_load("k", failing_load)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(*readers, return_exceptions=True)

    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert await cache.get_or_load("k", CountingLoader()) == "answer"


async def test_an_answer_loaded_across_an_invalidation_is_not_stored(clock: ManualClock) -> None:
    """A reader that loaded the old row while a writer committed must not cache the old row."""
    cache = make_cache(clock)
    loaded = asyncio.Event()
    resume = asyncio.Event()

    async def load_old_row() -> str:
        loaded.set()
        await resume.wait()
        return "old"

    reader = asyncio.create_task(cache.get_or_load("k", load_old_row))
    await loaded.wait()
    await cache.invalidate()  # the writer commits meanwhile
    resume.set()
    assert await reader == "old"

    assert await cache.get_or_load("k", CountingLoader(value="new")) == "new"
