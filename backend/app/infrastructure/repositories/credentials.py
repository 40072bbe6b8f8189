from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.credentials import OneTimeToken, TokenPurpose
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.models.credentials import OneTimeTokenModel, RecoveryCodeModel

_tokens = cast(Table, OneTimeTokenModel.__table__)
_codes = cast(Table, RecoveryCodeModel.__table__)
_t = _tokens.c
_k = _codes.c
_INSERT_TOKEN = insert(_tokens)
_SELECT_TOKEN = select(_tokens).where(_t.id == bindparam("token_id"))
_USE_TOKEN = (
    update(_tokens)
    .where(_t.id == bindparam("token_id"), _t.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_DELETE_TOKENS = delete(_tokens).where(
    _t.user_id == bindparam("user_id"), _t.purpose == bindparam("purpose")
)
_INSERT_CODE = insert(_codes)
_DELETE_CODES = delete(_codes).where(_k.user_id == bindparam("user_id"))
_USE_CODE = (
    update(_codes)
    .where(
        _k.user_id == bindparam("owner"),
        _k.code_hash == bindparam("hashed_code"),
        _k.used_at.is_(None),
    )
    .values(used_at=bindparam("now"))
)


class SqlAlchemyOneTimeTokenRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, token: OneTimeToken) -> None:
        await self._connection.execute(
            _INSERT_TOKEN, {**token.model_dump(), "purpose": token.purpose.value}
        )

    async def get(self, token_id: UUID) -> OneTimeToken | None:
        row = (
            (await self._connection.execute(_SELECT_TOKEN, {"token_id": token_id}))
            .mappings()
            .first()
        )
        if row is None:
            return None
        return OneTimeToken.model_construct(
            **{name: row[name] for name in OneTimeToken.model_fields if name != "purpose"},
            purpose=TokenPurpose(row["purpose"]),
        )

    async def mark_used(self, token_id: UUID, now: datetime) -> bool:
        result = await self._connection.execute(_USE_TOKEN, {"token_id": token_id, "now": now})
        return result.rowcount == 1

    async def delete_for_user(self, user_id: UUID, purpose: TokenPurpose) -> int:
        result = await self._connection.execute(
            _DELETE_TOKENS, {"user_id": user_id, "purpose": purpose.value}
        )
        return int(result.rowcount)


class SqlAlchemyRecoveryCodeRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def replace_all(self, user_id: UUID, code_hashes: Sequence[str]) -> None:
        await self.delete_all(user_id)
        await self._connection.execute(
            _INSERT_CODE,
            [
                {"id": new_id(), "user_id": user_id, "code_hash": h, "used_at": None}
                for h in code_hashes
            ],
        )

    async def use(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        result = await self._connection.execute(
            _USE_CODE, {"owner": user_id, "hashed_code": code_hash, "now": now}
        )
        return result.rowcount >= 1

    async def delete_all(self, user_id: UUID) -> None:
        await self._connection.execute(_DELETE_CODES, {"user_id": user_id})
