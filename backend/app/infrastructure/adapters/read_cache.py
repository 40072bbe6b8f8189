"""An in-process read cache: a bounded LRU with a time to live, emptied on every write.

Concurrent misses for one key share a single load (no stampede on the database when a popular
answer expires). A write in this process empties the cache at once. Another process's write is seen here within the time to
live, which bounds how stale an answer can be when several API processes share a database.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Entry:
    value: Any
    expires_at: float


class InProcessReadCache:
    def __init__(
        self,
        *,
        ttl_seconds: float,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._loading: dict[Hashable, asyncio.Future[Any]] = {}
        # Bumped by every invalidation: an answer loaded across one is never stored.
        self._generation = 0
        self.hits = 0
        self.misses = 0

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[T | None]]) -> T | None:
        if self._ttl <= 0:
            return await load()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires_at > now:
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.value  # type: ignore[no-any-return]
        self.misses += 1
        in_flight = self._loading.get(key)
        if in_flight is not None:
            return await asyncio.shield(in_flight)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._loading[key] = future
        try:
            value = await self._load_and_store(key, load, now)
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved here, so an unshared failure is not logged as lost
            raise
        else:
            future.set_result(value)
            return value
        finally:
            del self._loading[key]

    async def _load_and_store(
        self, key: Hashable, load: Callable[[], Awaitable[T | None]], now: float
    ) -> T | None:
        generation = self._generation
        value = await load()
        if value is not None and generation == self._generation:
            self._entries[key] = _Entry(value, now + self._ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    async def invalidate(self) -> None:
        self._generation += 1
        self._entries.clear()
