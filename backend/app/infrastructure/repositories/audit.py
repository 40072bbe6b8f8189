from __future__ import annotations

from functools import lru_cache
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Select, Table, bindparam, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.audit import AuditFilter
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.infrastructure.models.audit import AuditEventModel

_events = cast(Table, AuditEventModel.__table__)
_c = _events.c
_INSERT = insert(_events)
_SELECT_ABOUT_USER = (
    select(_events)
    .where(or_(_c.actor_id == bindparam("user_id"), _c.target_id == bindparam("user_key")))
    .order_by(_c.id)
)
_ANONYMISE_ACTOR = (
    update(_events).where(_c.actor_id == bindparam("user_id")).values(actor_id=None, ip=None)
)
_ANONYMISE_TARGET = (
    update(_events).where(_c.target_id == bindparam("user_key")).values(target_id=None)
)


class SqlAlchemyAuditRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, event: AuditEvent) -> None:
        await self._connection.execute(_INSERT, _to_row(event))

    async def list_page(
        self, audit_filter: AuditFilter, *, before: UUID | None, limit: int
    ) -> list[AuditEvent]:
        statement = _page_statement(
            actor=audit_filter.actor_id is not None,
            action=audit_filter.action is not None,
            before=before is not None,
        )
        parameters = {
            "actor_id": audit_filter.actor_id,
            "action": audit_filter.action,
            "before": before,
            "limit": limit,
        }
        result = await self._connection.execute(statement, parameters)
        return [_to_entity(row) for row in result.mappings()]

    async def list_about_user(self, user_id: UUID) -> list[AuditEvent]:
        result = await self._connection.execute(
            _SELECT_ABOUT_USER, {"user_id": user_id, "user_key": str(user_id)}
        )
        return [_to_entity(row) for row in result.mappings()]

    async def anonymise_actor(self, user_id: UUID) -> None:
        await self._connection.execute(_ANONYMISE_ACTOR, {"user_id": user_id})
        await self._connection.execute(_ANONYMISE_TARGET, {"user_key": str(user_id)})


@lru_cache(maxsize=8)
def _page_statement(*, actor: bool, action: bool, before: bool) -> Select[Any]:
    """The keyset-page query for one combination of filters, built once."""
    statement = select(_events)
    if actor:
        statement = statement.where(_c.actor_id == bindparam("actor_id"))
    if action:
        statement = statement.where(_c.action == bindparam("action"))
    if before:
        statement = statement.where(_c.id < bindparam("before"))
    return statement.order_by(_c.id.desc()).limit(bindparam("limit"))


def _to_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "occurred_at": event.occurred_at,
        "actor_id": event.actor_id,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "outcome": event.outcome.value,
        "ip": event.ip,
        "request_id": event.request_id,
        "details": dict(event.details),
    }


def _to_entity(row: RowMapping) -> AuditEvent:
    return AuditEvent.model_construct(
        id=row["id"],
        occurred_at=row["occurred_at"],
        actor_id=row["actor_id"],
        action=row["action"],
        target_type=row["target_type"],
        target_id=row["target_id"],
        outcome=AuditOutcome(row["outcome"]),
        ip=row["ip"],
        request_id=row["request_id"],
        details=dict(row["details"] or {}),
    )
