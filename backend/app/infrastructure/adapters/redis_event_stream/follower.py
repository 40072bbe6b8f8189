"""A process's broadcast reader: every event, no group, no acks."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from app.infrastructure.adapters.redis_event_stream.entries import (
    STREAM,
    Backoff,
    Entry,
    EventHandler,
    entries_in,
    event_from,
    stream_id,
    text,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis

logger = logging.getLogger("strata.events")


class EventStreamFollower:
    """Hands every event appended after it started to `handle` (one per process, no group).

    Nothing is acked or retried: a handler's failure is logged, and the next event follows. If
    Redis loses the stream, the follower notices when the stream is idle and reads the new one
    from its start (a stream restored from an older copy is read again whole: a repeat is
    harmless to handlers, a miss is not).
    """

    def __init__(
        self, redis: Redis, *, stream: str = STREAM, handle: EventHandler, block_ms: int = 1000
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._handle = handle
        self._block_ms = block_ms

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the stream until `stop` is set (returns within about one block)."""
        backoff = Backoff()
        last_id: str | None = None
        while not stop.is_set():
            try:
                if last_id is None:
                    last_id = await self._last_entry_id() or "0-0"
                response = await self._redis.xread(
                    {self._stream: last_id}, count=100, block=self._block_ms
                )
                entries = entries_in(response)
                if entries:
                    last_id = text(entries[-1][0])
                    await self._deliver(entries)
                else:
                    last_id = await self._restart_point(last_id)
                backoff.reset()
            except Exception as exc:  # Redis away (or a bug): never let the follower die
                logger.warning("event stream unavailable", extra={"error": type(exc).__name__})
                await backoff.wait(stop)

    async def _last_entry_id(self) -> str | None:
        newest = await self._redis.xrevrange(self._stream, count=1)
        return text(newest[0][0]) if newest else None

    async def _restart_point(self, last_id: str) -> str:
        """Where to read from when the stream is idle: past `last_id`, or from the start if
        Redis lost the stream (it is gone, or its newest entry is older than one already read)."""
        newest = await self._last_entry_id()
        if last_id != "0-0" and (newest is None or stream_id(newest) < stream_id(last_id)):
            logger.warning("event stream lost; following the new one from its start")
            return "0-0"
        return last_id

    async def _deliver(self, entries: list[Entry]) -> None:
        for entry_id, fields in entries:
            try:
                event = event_from(fields)
                await self._handle(event)
            except Exception:
                logger.exception("event not handled", extra={"entry": text(entry_id)})
