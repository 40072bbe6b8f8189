"""The deny-list of revoked access tokens (`TokenDenyList` port): in-process, or Redis.

Entries live exactly as long as the token they deny would have: after that, the token's own `exp`
refuses it.
"""

from __future__ import annotations

import heapq
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from app.application.errors import DependencyUnavailableError
from app.application.interfaces.clock import Clock

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("strata.tokens")
KEY_PREFIX = "strata:denied-jti:"
RETRY_AFTER_SECONDS = 5


class InProcessTokenDenyList:
    """For a single API process (the embedded default): a dict, and a heap to forget expired ids.

    Bounded: an entry lives no longer than the token it denies, and at most `max_entries` live at
    once. A full list refuses to deny more (503, retry later) rather than forget a denial early.
    """

    DEFAULT_MAX_ENTRIES = 100_000

    def __init__(self, clock: Clock, *, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._clock = clock
        self._max_entries = max_entries
        self._denied: dict[str, float] = {}
        self._expiries: list[tuple[float, str]] = []

    async def deny(self, token_id: str, *, until: datetime) -> None:
        now = self._clock.now().timestamp()
        expires = until.timestamp()
        if expires <= now:
            return
        self._forget_expired(now)
        if token_id not in self._denied and len(self._denied) >= self._max_entries:
            logger.warning("token deny-list full", extra={"entries": len(self._denied)})
            raise DependencyUnavailableError(retry_after_seconds=RETRY_AFTER_SECONDS)
        self._denied[token_id] = max(expires, self._denied.get(token_id, 0.0))
        heapq.heappush(self._expiries, (expires, token_id))

    async def is_denied(self, token_id: str) -> bool:
        now = self._clock.now().timestamp()
        self._forget_expired(now)
        expires = self._denied.get(token_id)
        return expires is not None and expires > now

    def _forget_expired(self, now: float) -> None:
        while self._expiries and self._expiries[0][0] <= now:
            _, token_id = heapq.heappop(self._expiries)
            if self._denied.get(token_id, now + 1) <= now:
                del self._denied[token_id]

    def __len__(self) -> int:
        return len(self._denied)


class RedisTokenDenyList:
    """Shared by every API process. Any Redis failure refuses the request (503), never admits it."""

    def __init__(self, redis: Redis, clock: Clock, *, key_prefix: str = KEY_PREFIX) -> None:
        # Its client has imported redis already: the embedded default never loads it (issue 13).
        from redis.exceptions import RedisError  # noqa: PLC0415

        # RuntimeError: uvloop's, for a socket closed under the client (redis-py drops it).
        self._failures: tuple[type[BaseException], ...] = (RedisError, OSError, RuntimeError)
        self._redis = redis
        self._clock = clock
        self._prefix = key_prefix

    async def deny(self, token_id: str, *, until: datetime) -> None:
        ttl_ms = int((until - self._clock.now()).total_seconds() * 1000)
        if ttl_ms <= 0:
            return
        try:
            await self._redis.set(self._prefix + token_id, b"1", px=ttl_ms)
        except self._failures as exc:
            raise _unavailable(exc) from exc

    async def is_denied(self, token_id: str) -> bool:
        try:
            return bool(await self._redis.exists(self._prefix + token_id))
        except self._failures as exc:
            raise _unavailable(exc) from exc


def _unavailable(exc: BaseException) -> DependencyUnavailableError:
    logger.warning("token deny-list unavailable", extra={"error": type(exc).__name__})
    return DependencyUnavailableError(retry_after_seconds=RETRY_AFTER_SECONDS)
