"""A consumer group's reader: each event to one consumer, retried, never stuck on one entry."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from app.infrastructure.adapters.redis_event_stream.entries import (
    STREAM,
    Backoff,
    Entry,
    EventHandler,
    entries_in,
    event_from,
    text,
)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.exceptions import ResponseError

logger = logging.getLogger("strata.events")

# An entry delivered more often than this is poison: acked and logged, so it blocks nothing.
MAX_DELIVERIES = 5


class EventStreamGroupConsumer:
    """One consumer of a group: each event of the stream goes to one consumer of the group.

    An event is acked once `handle` returns. One whose handler raised stays pending and is claimed
    again (by any consumer of the group) once idle for `claim_idle_ms`, up to `max_deliveries`
    deliveries; an entry that cannot be read as an event is acked and logged. If Redis loses the
    group (flushed, restarted empty), the consumer recreates it and, when it was the one that did,
    awaits `on_group_recreated` (the app republishes recent events from the outbox).
    """

    def __init__(
        self,
        redis: Redis | Callable[[], Redis],
        *,
        stream: str = STREAM,
        group: str,
        consumer_name: str,
        handle: EventHandler,
        block_ms: int = 1000,
        count: int = 50,
        claim_idle_ms: int = 30_000,
        max_deliveries: int = MAX_DELIVERIES,
        on_group_recreated: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._redis = redis
        self._stream = stream
        self._group = group
        self._name = consumer_name
        self._handle = handle
        self._block_ms = block_ms
        self._count = count
        self._claim_idle_ms = claim_idle_ms
        self._max_deliveries = max_deliveries
        self._on_group_recreated = on_group_recreated
        self._claim_cursor = "0-0"

    async def run(self, stop: asyncio.Event) -> None:
        """Read and handle events until `stop` is set (returns within about one block)."""
        from redis.asyncio import Redis  # noqa: PLC0415 - not with the package (issue 13)

        # A factory's client is this consumer's own; a client handed in is its owner's to close.
        redis = self._redis if isinstance(self._redis, Redis) else self._redis()
        try:
            await self._consume(redis, stop)
        finally:
            if redis is not self._redis:
                await redis.aclose()

    async def _consume(self, redis: Redis, stop: asyncio.Event) -> None:
        from redis.exceptions import ResponseError  # noqa: PLC0415 - not with the package

        backoff = Backoff()
        group_lost = False
        while not stop.is_set():
            try:
                if await self._create_group(redis) and group_lost:
                    logger.warning("event group recreated", extra={"group": self._group})
                    await self._group_recreated()
                group_lost = False
                while not stop.is_set():
                    await self._reclaim(redis)
                    await self._read_new(redis)
                    backoff.reset()
            except ResponseError as exc:
                if _group_gone(exc):
                    group_lost = True
                    self._claim_cursor = "0-0"
                    continue
                logger.exception("event stream read failed", extra={"group": self._group})
                await backoff.wait(stop)
            except Exception as exc:  # Redis away (or a bug): never let the consumer die
                logger.warning("event stream unavailable", extra={"error": type(exc).__name__})
                await backoff.wait(stop)

    async def _create_group(self, redis: Redis) -> bool:
        """Create the group, reading the stream from its start; False if it exists already."""
        from redis.exceptions import ResponseError  # noqa: PLC0415 - not with the package

        try:
            await redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def _group_recreated(self) -> None:
        if self._on_group_recreated is None:
            return
        try:
            await self._on_group_recreated()
        except Exception:
            logger.exception("after recreating the event group", extra={"group": self._group})

    async def _read_new(self, redis: Redis) -> None:
        response = await redis.xreadgroup(
            self._group,
            self._name,
            {self._stream: ">"},
            count=self._count,
            block=self._block_ms,
        )
        await self._deliver(redis, entries_in(response))

    async def _reclaim(self, redis: Redis) -> None:
        """Claim entries idle past `claim_idle_ms` (their handler failed, or their consumer died).

        Runs every loop, not only after a read fetched something, so an idle stream retries too.
        """
        cursor, claimed, *_ = await redis.xautoclaim(
            self._stream,
            self._group,
            self._name,
            min_idle_time=self._claim_idle_ms,
            start_id=self._claim_cursor,
            count=self._count,
        )
        self._claim_cursor = text(cursor)
        claimed = [entry for entry in claimed if entry[0] is not None]
        if not claimed:
            return
        deliveries = await self._deliveries(redis, claimed)
        poison = {
            entry_id
            for entry_id, _ in claimed
            if deliveries.get(entry_id, 0) > self._max_deliveries
        }
        for entry_id in poison:
            logger.error(
                "event entry failed too often; dropped",
                extra={"entry": text(entry_id), "deliveries": deliveries[entry_id]},
            )
        if poison:
            await redis.xack(self._stream, self._group, *poison)
        await self._deliver(redis, [entry for entry in claimed if entry[0] not in poison])

    async def _deliveries(self, redis: Redis, claimed: list[Entry]) -> dict[Any, int]:
        """How many times each claimed entry has been delivered, this claim included."""
        pending = await redis.xpending_range(
            self._stream,
            self._group,
            min=claimed[0][0],
            max=claimed[-1][0],
            count=len(claimed),
            consumername=self._name,
        )
        return {item["message_id"]: int(item["times_delivered"]) for item in pending}

    async def _deliver(self, redis: Redis, entries: list[Entry]) -> None:
        done = []
        for entry_id, fields in entries:
            try:
                event = event_from(fields)
            except Exception as exc:
                logger.warning(
                    "unreadable event entry skipped",
                    extra={"entry": text(entry_id), "error": type(exc).__name__},
                )
                done.append(entry_id)
                continue
            try:
                await self._handle(event)
            except Exception:
                # Left pending: claimed again once idle for claim_idle_ms.
                logger.exception("event handler failed", extra={"event": event.name})
                continue
            done.append(entry_id)
        if done:
            await redis.xack(self._stream, self._group, *done)


def _group_gone(exc: ResponseError) -> bool:
    # NOGROUP: the group (or the stream) is missing; UNBLOCKED: it went while a read was blocked.
    message = str(exc)
    return message.startswith("NOGROUP") or (
        message.startswith("UNBLOCKED") and "no longer exists" in message
    )
