from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

# Every concrete event class registers itself with DomainEvent when its module is imported:
# without these imports an event read back from the outbox has no class to restore into.
import app.domain.events.access
import app.domain.events.credentials
import app.domain.events.job
import app.domain.events.payment
import app.domain.events.product
import app.domain.events.resource
import app.domain.events.session
import app.domain.events.user  # noqa: F401
from app.domain.events import DomainEvent
from app.infrastructure.database.upsert import insert_if_absent
from app.infrastructure.models.event import OutboxEventModel, ProcessedEventModel

_outbox = cast(Table, OutboxEventModel.__table__)
_processed = cast(Table, ProcessedEventModel.__table__)
_o = _outbox.c
_UNPUBLISHED = {
    bounded: (
        select(_outbox)
        .where(_o.published_at.is_(None))  # by ix_outbox_published_at_recorded_at
        .where(*([_o.recorded_at < bindparam("recorded_before")] if bounded else []))
        .order_by(_o.recorded_at, _o.event_id)
        .limit(bindparam("limit"))
    )
    for bounded in (False, True)
}
_MARK_PUBLISHED = (
    update(_outbox)
    # A second relay of the same event keeps the time it was first handed out.
    .where(_o.event_id.in_(bindparam("event_ids", expanding=True)), _o.published_at.is_(None))
    .values(published_at=bindparam("now"))
)
_DELETE_PUBLISHED_BEFORE = delete(_outbox).where(
    _o.published_at.is_not(None), _o.published_at < bindparam("cutoff")
)
_PUBLISHED_SINCE = {
    paged: (
        select(_outbox)
        .where(_o.published_at >= bindparam("cutoff"))
        .where(*([_o.event_id > bindparam("after")] if paged else []))
        .order_by(_o.event_id)
        .limit(bindparam("limit"))
    )
    for paged in (False, True)
}
_OLDEST_UNPUBLISHED = select(func.min(_o.recorded_at)).where(_o.published_at.is_(None))
_DELETE_PROCESSED_BEFORE = delete(_processed).where(_processed.c.processed_at < bindparam("cutoff"))


class SqlAlchemyEventOutbox:
    """The outbox in the unit of work's transaction: an event recorded here is committed, or
    rolled back, with the change that made it."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, events: Sequence[DomainEvent], recorded_at: datetime) -> None:
        if not events:
            return
        rows = [_row(event, recorded_at) for event in events]
        await self._connection.execute(insert(_outbox).values(rows))

    async def unpublished(
        self, limit: int, *, recorded_before: datetime | None = None
    ) -> list[DomainEvent]:
        parameters: dict[str, Any] = {"limit": limit}
        if recorded_before is not None:
            parameters["recorded_before"] = recorded_before
        result = await self._connection.execute(
            _UNPUBLISHED[recorded_before is not None], parameters
        )
        return [_event(row) for row in result.mappings()]

    async def mark_published(self, event_ids: Sequence[UUID], now: datetime) -> None:
        if event_ids:
            await self._connection.execute(
                _MARK_PUBLISHED, {"event_ids": list(event_ids), "now": now}
            )

    async def delete_published_before(self, cutoff: datetime) -> int:
        result = await self._connection.execute(_DELETE_PUBLISHED_BEFORE, {"cutoff": cutoff})
        return int(result.rowcount)

    async def published_since(
        self, cutoff: datetime, *, after: UUID | None, limit: int
    ) -> list[DomainEvent]:
        parameters: dict[str, Any] = {"cutoff": cutoff, "limit": limit}
        if after is not None:
            parameters["after"] = after
        result = await self._connection.execute(_PUBLISHED_SINCE[after is not None], parameters)
        return [_event(row) for row in result.mappings()]

    async def oldest_unpublished_at(self) -> datetime | None:
        # min() over the (published_at, recorded_at) index: its first entry with a NULL published_at.
        value = await self._connection.scalar(_OLDEST_UNPUBLISHED)
        if value is None:
            return None
        # SQLite gives an aggregate's timestamp back as text, without the column's type.
        oldest: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return oldest if oldest.tzinfo is not None else oldest.replace(tzinfo=UTC)


class SqlAlchemyProcessedEvents:
    """Which handler has handled which event, claimed in the transaction that makes its effect."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def claim(self, handler: str, event_id: UUID, now: datetime) -> bool:
        # ON CONFLICT DO NOTHING: a redelivery returns False and the transaction stays usable.
        values = {"handler": handler, "event_id": event_id, "processed_at": now}
        return await insert_if_absent(self._connection, _processed, values)

    async def delete_before(self, cutoff: datetime) -> int:
        result = await self._connection.execute(_DELETE_PROCESSED_BEFORE, {"cutoff": cutoff})
        return int(result.rowcount)


def _row(event: DomainEvent, recorded_at: datetime) -> dict[str, Any]:
    return {
        "event_id": event.event_id,
        "name": event.name,
        "aggregate_id": event.aggregate_id,
        "occurred_at": event.occurred_at,
        "recorded_at": recorded_at,
        "published_at": None,
        "schema_version": type(event).schema_version,
        "payload": json.dumps(event.payload()),
    }


def _event(row: RowMapping) -> DomainEvent:
    return DomainEvent.restore(
        row["name"],
        event_id=row["event_id"],
        occurred_at=row["occurred_at"],
        payload=json.loads(row["payload"]),
    )
