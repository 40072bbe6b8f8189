from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.session import Session
from app.infrastructure.models.session import SessionModel

_sessions = cast(Table, SessionModel.__table__)
_c = _sessions.c
# Built once: see the product repository.
_INSERT = insert(_sessions)
_SELECT_BY_ID = select(_sessions).where(_c.id == bindparam("session_id"))
_ROTATE = (
    update(_sessions)
    .where(_c.id == bindparam("session_id"), _c.refresh_token_hash == bindparam("previous_hash"))
    .values(
        refresh_token_hash=bindparam("new_hash"),
        spent_token_hashes=bindparam("new_spent_hashes"),
        last_used_at=bindparam("new_last_used_at"),
        expires_at=bindparam("new_expires_at"),
        user_agent=bindparam("new_user_agent"),
        ip=bindparam("new_ip"),
    )
)
_SELECT_ACTIVE = (
    select(_sessions)
    .where(_c.user_id == bindparam("user_id"), _c.expires_at > bindparam("now"))
    .order_by(_c.created_at.desc(), _c.id.desc())
)
_DELETE_ONE = delete(_sessions).where(_c.id == bindparam("session_id"))
_DELETE_ALL = delete(_sessions).where(_c.user_id == bindparam("user_id"))
_DELETE_ALL_BUT = delete(_sessions).where(
    _c.user_id == bindparam("user_id"), _c.id != bindparam("keep")
)
# SKIP LOCKED (PostgreSQL; SQLite has no row locks and renders none): the sweep passes over rows
# that a concurrent login is pruning, so neither waits for the other or deadlocks with it.
_EXPIRED_BATCH = (
    select(_c.id)
    .where(_c.expires_at <= bindparam("now"))
    .limit(bindparam("limit"))
    .with_for_update(skip_locked=True)
)
# Through a subquery: DELETE ... LIMIT is not portable (PostgreSQL has none).
_DELETE_EXPIRED_BATCH = delete(_sessions).where(_c.id.in_(_EXPIRED_BATCH.scalar_subquery()))
_NEWEST_LIVE = (
    select(_c.id)
    .where(_c.user_id == bindparam("user_id"), _c.expires_at > bindparam("now"))
    .order_by(_c.created_at.desc(), _c.id.desc())
    .limit(bindparam("keep"))
)
# Expired sessions are never among the newest live ones: one statement prunes both.
_PRUNE = delete(_sessions).where(
    _c.user_id == bindparam("user_id"), _c.id.not_in(_NEWEST_LIVE.scalar_subquery())
)


class SqlAlchemySessionRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, session: Session) -> None:
        await self._connection.execute(_INSERT, _to_row(session))

    async def get(self, session_id: UUID) -> Session | None:
        result = await self._connection.execute(_SELECT_BY_ID, {"session_id": session_id})
        row = result.mappings().first()
        return _to_entity(row) if row is not None else None

    async def rotate(self, session: Session, *, previous_hash: str) -> bool:
        result = await self._connection.execute(
            _ROTATE,
            {
                "session_id": session.id,
                "previous_hash": previous_hash,
                "new_hash": session.refresh_token_hash,
                "new_spent_hashes": _joined(session.spent_token_hashes),
                "new_last_used_at": session.last_used_at,
                "new_expires_at": session.expires_at,
                "new_user_agent": session.user_agent,
                "new_ip": session.ip,
            },
        )
        return result.rowcount == 1

    async def list_active(self, user_id: UUID, now: datetime) -> list[Session]:
        result = await self._connection.execute(_SELECT_ACTIVE, {"user_id": user_id, "now": now})
        return [_to_entity(row) for row in result.mappings()]

    async def delete(self, session_id: UUID) -> bool:
        result = await self._connection.execute(_DELETE_ONE, {"session_id": session_id})
        return result.rowcount == 1

    async def delete_all_for_user(self, user_id: UUID, *, keep: UUID | None = None) -> int:
        if keep is None:
            result = await self._connection.execute(_DELETE_ALL, {"user_id": user_id})
        else:
            result = await self._connection.execute(
                _DELETE_ALL_BUT, {"user_id": user_id, "keep": keep}
            )
        return int(result.rowcount)

    async def delete_expired_of_anyone(self, now: datetime, *, limit: int) -> int:
        result = await self._connection.execute(_DELETE_EXPIRED_BATCH, {"now": now, "limit": limit})
        return int(result.rowcount)

    async def prune(self, user_id: UUID, now: datetime, *, keep: int) -> int:
        result = await self._connection.execute(
            _PRUNE, {"user_id": user_id, "now": now, "keep": keep}
        )
        return int(result.rowcount)


def _to_row(session: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user_id": session.user_id,
        "refresh_token_hash": session.refresh_token_hash,
        "spent_token_hashes": _joined(session.spent_token_hashes),
        "created_at": session.created_at,
        "last_used_at": session.last_used_at,
        "expires_at": session.expires_at,
        "user_agent": session.user_agent,
        "ip": session.ip,
    }


def _to_entity(row: RowMapping) -> Session:
    return Session.model_construct(
        id=row["id"],
        user_id=row["user_id"],
        refresh_token_hash=row["refresh_token_hash"],
        spent_token_hashes=tuple(row["spent_token_hashes"].split()),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        user_agent=row["user_agent"],
        ip=row["ip"],
    )


def _joined(hashes: tuple[str, ...]) -> str:
    return " ".join(hashes)
