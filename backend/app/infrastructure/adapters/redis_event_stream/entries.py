"""What the stream's writer and readers share: how an event is an entry, and how to wait."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

# Every concrete event class registers itself when its module is imported; the event repository
# imports them all, so an entry read from the stream has its class to restore into.
import app.infrastructure.repositories.event  # noqa: F401
from app.domain.events import DomainEvent

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT, FieldT

STREAM = "strata:events"
MAXLEN = 100_000
BACKOFF_FIRST_SECONDS = 0.1
BACKOFF_MAX_SECONDS = 5.0

EventHandler = Callable[[DomainEvent], Awaitable[None]]
Entry = tuple[Any, Any]  # (entry id, fields), bytes or str as the client decodes them


def stream_reader_client(url: str) -> Redis:
    """A client for blocking stream reads: no read timeout (the block bounds each read)."""
    from redis.asyncio import Redis  # noqa: PLC0415 - the package loads without redis (issue 13)

    return Redis.from_url(url, socket_timeout=None, socket_connect_timeout=5, socket_keepalive=True)


class Backoff:
    """Capped exponential pauses after failures, cut short by `stop`."""

    def __init__(self) -> None:
        self._next = BACKOFF_FIRST_SECONDS

    def reset(self) -> None:
        self._next = BACKOFF_FIRST_SECONDS

    async def wait(self, stop: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), self._next)
        self._next = min(self._next * 2, BACKOFF_MAX_SECONDS)


def fields_of(event: DomainEvent) -> dict[FieldT, EncodableT]:
    aggregate_id = event.aggregate_id
    return {
        "id": str(event.event_id),
        "type": event.name,
        "aggregate_id": "" if aggregate_id is None else str(aggregate_id),
        "occurred_at": event.occurred_at.isoformat(),
        "schema_version": str(event.schema_version),
        "payload": json.dumps(event.payload(), separators=(",", ":")),
    }


def event_from(fields: Mapping[Any, Any] | None) -> DomainEvent:
    """The event an entry tells; raises (anything) when the entry is not one."""
    if fields is None:
        raise LookupError("the entry was deleted")
    values = {text(key): text(value) for key, value in fields.items()}
    payload = json.loads(values["payload"])
    if not isinstance(payload, dict):
        raise TypeError("the payload is not an object")
    return DomainEvent.restore(
        values["type"],
        event_id=UUID(values["id"]),
        occurred_at=datetime.fromisoformat(values["occurred_at"]),
        payload=payload,
    )


def entries_in(response: Any) -> list[Entry]:
    """The entries of an XREAD / XREADGROUP answer on one stream, in either RESP shape."""
    if not response:
        return []
    streams = response.values() if isinstance(response, dict) else (e for _, e in response)
    return [entry for entries in streams for entry in entries if entry[0] is not None]


def stream_id(entry_id: str) -> tuple[int, int]:
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence or 0)


def text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
