from __future__ import annotations

from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.payment import WebhookEvent
from app.domain.entities.payment import Payment
from app.infrastructure.database.upsert import insert_if_absent
from app.infrastructure.models.payment import PaymentModel, WebhookEventModel

_payments = cast(Table, PaymentModel.__table__)
_events = cast(Table, WebhookEventModel.__table__)
_p = _payments.c
_e = _events.c
_SELECT = select(_payments).where(_p.id == bindparam("payment_id"))
_BY_PROVIDER_ID = select(_payments).where(_p.provider_id == bindparam("provider_id"))
_BY_PROVIDER_ID_LOCKED = _BY_PROVIDER_ID.with_for_update()
_REPLACE = (
    update(_payments)
    .where(_p.id == bindparam("payment_id"), _p.version == bindparam("expected_version"))
    .values(
        status=bindparam("new_status"),
        failure_code=bindparam("new_failure_code"),
        failure_message=bindparam("new_failure_message"),
        status_observed_at=bindparam("new_status_observed_at"),
        version=bindparam("new_version"),
        updated_at=bindparam("new_updated_at"),
    )
)
_PAGE = {
    after: (
        select(_payments)
        .where(_p.user_id == bindparam("user_id"))
        .where(*([_p.id > bindparam("after")] if after else []))
        .order_by(_p.id)
        .limit(bindparam("limit"))
    )
    for after in (False, True)
}
_BY_USER = select(_payments).where(_p.user_id == bindparam("user_id")).order_by(_p.id)
_ANONYMISE = (
    update(_payments)
    .where(_p.user_id == bindparam("owner"))  # not "user_id": UPDATE reserves it for SET
    .values(
        user_id=None,
        metadata={},
        sealed_client_secret=None,
        version=_p.version + 1,
        updated_at=bindparam("now"),
    )
)
_SELECT_EVENT = select(_events).where(_e.event_id == bindparam("event_id"))
_MARK_PROCESSED = (
    update(_events)
    .where(_e.event_id == bindparam("processed_event_id"))  # UPDATE reserves column names
    .values(processed_at=bindparam("now"), outcome=bindparam("new_outcome"))
)


class SqlAlchemyPaymentRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, payment: Payment) -> None:
        await self._connection.execute(_payments.insert(), _row(payment))

    async def get(self, payment_id: UUID) -> Payment | None:
        result = await self._connection.execute(_SELECT, {"payment_id": payment_id})
        row = result.mappings().first()
        return _payment(row) if row is not None else None

    async def get_by_provider_id(
        self, provider_id: str, *, for_update: bool = False
    ) -> Payment | None:
        statement = _BY_PROVIDER_ID_LOCKED if for_update else _BY_PROVIDER_ID
        result = await self._connection.execute(statement, {"provider_id": provider_id})
        row = result.mappings().first()
        return _payment(row) if row is not None else None

    async def replace(self, payment: Payment, *, expected_version: int) -> bool:
        # Only what the provider changes: owner, amount and metadata never change after creation.
        result = await self._connection.execute(
            _REPLACE,
            {
                "payment_id": payment.id,
                "expected_version": expected_version,
                "new_status": payment.status.value,
                "new_failure_code": payment.failure_code,
                "new_failure_message": payment.failure_message,
                "new_status_observed_at": payment.status_observed_at,
                "new_version": payment.version,
                "new_updated_at": payment.updated_at,
            },
        )
        return result.rowcount == 1

    async def list_page(self, *, user_id: UUID, after: UUID | None, limit: int) -> list[Payment]:
        result = await self._connection.execute(
            _PAGE[after is not None], {"user_id": user_id, "after": after, "limit": limit}
        )
        return [_payment(row) for row in result.mappings()]

    async def list_by_user(self, user_id: UUID) -> list[Payment]:
        result = await self._connection.execute(_BY_USER, {"user_id": user_id})
        return [_payment(row) for row in result.mappings()]

    async def anonymise_user(self, user_id: UUID, *, now: datetime) -> int:
        result = await self._connection.execute(_ANONYMISE, {"owner": user_id, "now": now})
        return int(result.rowcount)


class SqlAlchemyWebhookEventRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_if_absent(self, event: WebhookEvent) -> bool:
        return await insert_if_absent(
            self._connection,
            _events,
            {
                "event_id": event.event_id,
                "type": event.type,
                "received_at": event.received_at,
                "processed_at": event.processed_at,
                "outcome": event.outcome,
                "payload": event.payload,
            },
        )

    async def mark_processed(self, event_id: str, *, outcome: str, now: datetime) -> None:
        await self._connection.execute(
            _MARK_PROCESSED, {"processed_event_id": event_id, "now": now, "new_outcome": outcome}
        )

    async def get(self, event_id: str) -> WebhookEvent | None:
        result = await self._connection.execute(_SELECT_EVENT, {"event_id": event_id})
        row = result.mappings().first()
        if row is None:
            return None
        return WebhookEvent(
            event_id=row["event_id"],
            type=row["type"],
            received_at=row["received_at"],
            payload=row["payload"],
            processed_at=row["processed_at"],
            outcome=row["outcome"],
        )

    async def drop_payloads_received_before(self, cutoff: datetime, *, limit: int) -> int:
        batch = (
            select(_e.event_id)
            .where(_e.received_at < cutoff, _e.payload != "")
            .order_by(_e.received_at)
            .limit(limit)
            .scalar_subquery()
        )
        result = await self._connection.execute(
            update(_events).where(_e.event_id.in_(batch)).values(payload="")
        )
        return int(result.rowcount)


def _row(payment: Payment) -> dict[str, object]:
    # Table columns by name: the column is `metadata` (the ORM attribute is only renamed because
    # declarative classes reserve that word).
    return {**payment.model_dump(), "status": payment.status.value}


def _payment(row: RowMapping) -> Payment:
    return Payment.model_validate({name: row[name] for name in Payment.model_fields})
