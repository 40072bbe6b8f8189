from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol, TypeVar

T = TypeVar("T")


class ReadCache(Protocol):
    """Answers to recent reads, kept until a write makes them stale or their time is up.

    Values must be immutable (frozen entities, tuples): every reader gets the same object.
    """

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached answer for `key`, or `load()`'s (cached unless None)."""
        ...

    async def invalidate(self) -> None:
        """Forget every answer: called after each committed write that could change one."""
        ...


class NoReadCache:
    """Caches nothing: every read loads. For use cases built without a cache."""

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[T | None]]) -> T | None:
        return await load()

    async def invalidate(self) -> None:
        return None
