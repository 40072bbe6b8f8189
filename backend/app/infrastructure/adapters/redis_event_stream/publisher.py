"""Appending committed events to the stream (the outbox relay's publisher)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from app.domain.events import DomainEvent
from app.infrastructure.adapters.redis_event_stream.entries import MAXLEN, STREAM, fields_of

if TYPE_CHECKING:
    from redis.asyncio import Redis


class RedisStreamEventPublisher:
    """The `EventPublisher` that appends events to the stream, trimmed to about `maxlen` entries.

    Unlike the in-process publisher it raises when Redis fails: `OutboxRelay.relay` marks events
    published only once `publish` returns, so events it could not append stay in the outbox and
    the periodic relay hands them out later. A batch that failed halfway is appended again whole;
    handlers dedupe the repeats.
    """

    def __init__(self, redis: Redis, *, stream: str = STREAM, maxlen: int = MAXLEN) -> None:
        self._redis = redis
        self._stream = stream
        self._maxlen = maxlen

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(self._stream, fields_of(event), maxlen=self._maxlen, approximate=True)
            await pipe.execute()
