from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.idempotency import IdempotencyRecord
from app.infrastructure.database.upsert import insert_if_absent
from app.infrastructure.models.idempotency import IdempotencyKeyModel

_keys = cast(Table, IdempotencyKeyModel.__table__)
_k = _keys.c
# Parameters named unlike the columns: UPDATE reserves the column names for its SET clause.
_ONE = (_k.user_id == bindparam("owner"), _k.key == bindparam("idempotency_key"))
_SELECT = select(_keys).where(*_ONE)
_RELOCK = (
    update(_keys)
    .where(*_ONE, _k.locked_until == bindparam("previous_lock"), _k.sealed_result.is_(None))
    .values(locked_until=bindparam("new_lock"))
)
_COMPLETE = update(_keys).where(*_ONE).values(sealed_result=bindparam("new_result"))
_RELEASE = (
    update(_keys).where(*_ONE, _k.sealed_result.is_(None)).values(locked_until=bindparam("now"))
)
_REPLACE_EXPIRED = (
    update(_keys)
    .where(*_ONE, _k.expires_at <= bindparam("now"))
    .values(
        fingerprint=bindparam("new_fingerprint"),
        reserved_id=bindparam("new_reserved_id"),
        locked_until=bindparam("new_locked_until"),
        created_at=bindparam("new_created_at"),
        expires_at=bindparam("new_expires_at"),
        sealed_result=None,
    )
)
_DELETE_EXPIRED = delete(_keys).where(_k.expires_at <= bindparam("now"))  # by ix_..._expires_at
_DELETE_FOR_USER = delete(_keys).where(_k.user_id == bindparam("owner"))


class SqlAlchemyIdempotencyRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_if_absent(self, record: IdempotencyRecord) -> bool:
        values = {
            "user_id": record.user_id,
            "key": record.key,
            "fingerprint": record.fingerprint,
            "reserved_id": record.reserved_id,
            "locked_until": record.locked_until,
            "created_at": record.created_at,
            "expires_at": record.expires_at,
            "sealed_result": record.sealed_result,
        }
        return await insert_if_absent(self._connection, _keys, values)

    async def get(self, user_id: UUID, key: str) -> IdempotencyRecord | None:
        result = await self._connection.execute(_SELECT, {"owner": user_id, "idempotency_key": key})
        row = result.mappings().first()
        return _record(row) if row is not None else None

    async def relock(
        self, user_id: UUID, key: str, *, previous_lock: datetime, locked_until: datetime
    ) -> bool:
        result = await self._connection.execute(
            _RELOCK,
            {
                "owner": user_id,
                "idempotency_key": key,
                "previous_lock": previous_lock,
                "new_lock": locked_until,
            },
        )
        return result.rowcount == 1

    async def complete(self, user_id: UUID, key: str, *, sealed_result: str) -> None:
        await self._connection.execute(
            _COMPLETE, {"owner": user_id, "idempotency_key": key, "new_result": sealed_result}
        )

    async def release(self, user_id: UUID, key: str, *, now: datetime) -> None:
        await self._connection.execute(
            _RELEASE, {"owner": user_id, "idempotency_key": key, "now": now}
        )

    async def replace_expired(self, record: IdempotencyRecord, *, now: datetime) -> bool:
        result = await self._connection.execute(
            _REPLACE_EXPIRED,
            {
                "owner": record.user_id,
                "idempotency_key": record.key,
                "now": now,
                "new_fingerprint": record.fingerprint,
                "new_reserved_id": record.reserved_id,
                "new_locked_until": record.locked_until,
                "new_created_at": record.created_at,
                "new_expires_at": record.expires_at,
            },
        )
        return result.rowcount == 1

    async def delete_expired(self, now: datetime) -> int:
        result = await self._connection.execute(_DELETE_EXPIRED, {"now": now})
        return int(result.rowcount)

    async def delete_for_user(self, user_id: UUID) -> int:
        result = await self._connection.execute(_DELETE_FOR_USER, {"owner": user_id})
        return int(result.rowcount)


def _record(row: RowMapping) -> IdempotencyRecord:
    return IdempotencyRecord(**{field.name: row[field.name] for field in fields(IdempotencyRecord)})
