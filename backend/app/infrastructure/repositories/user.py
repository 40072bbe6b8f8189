from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.user import EmailAlreadyRegisteredError, Role, User
from app.infrastructure.database.errors import violated_constraint
from app.infrastructure.models.session import SessionModel
from app.infrastructure.models.user import UserModel

_users = cast(Table, UserModel.__table__)
# Built once: see the product repository.
_INSERT = insert(_users)
_SELECT_BY_ID = select(_users).where(_users.c.id == bindparam("user_id"))
_SELECT_BY_EMAIL = select(_users).where(_users.c.email == bindparam("email"))
_sessions = cast(Table, SessionModel.__table__)
# Authentication's one query: the user, only if the token's session is theirs and unexpired.
_SELECT_IN_SESSION = (
    select(_users)
    .join(_sessions, _sessions.c.user_id == _users.c.id)
    .where(
        _users.c.id == bindparam("user_id"),
        _sessions.c.id == bindparam("session_id"),
        _sessions.c.expires_at > bindparam("now"),
    )
)
_SELECT_PAGE = (
    select(_users)
    .where(_users.c.id > bindparam("after"))
    .order_by(_users.c.id)
    .limit(bindparam("limit"))
)
_SELECT_FIRST_PAGE = select(_users).order_by(_users.c.id).limit(bindparam("limit"))
_DELETE = delete(_users).where(_users.c.id == bindparam("user_id"))
_UPDATE = (
    update(_users)
    .where(_users.c.id == bindparam("user_id"), _users.c.version == bindparam("expected_version"))
    # Bind names differ from column names: SQLAlchemy reserves those for its own SET parameters.
    .values(
        {column.name: bindparam(f"new_{column.name}") for column in _users.c if column.name != "id"}
    )
)


class SqlAlchemyUserRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(self, user: User) -> None:
        try:
            # A savepoint keeps the outer transaction usable after a duplicate e-mail.
            async with self._connection.begin_nested():
                await self._connection.execute(_INSERT, _to_row(user))
        except IntegrityError as exc:
            if violated_constraint(exc) == "uq_users_email":
                raise EmailAlreadyRegisteredError() from exc
            raise

    async def get(self, user_id: UUID) -> User | None:
        return await self._first(_SELECT_BY_ID, {"user_id": user_id})

    async def get_by_email(self, email: str) -> User | None:
        return await self._first(_SELECT_BY_EMAIL, {"email": email})

    async def get_in_session(self, user_id: UUID, session_id: UUID, now: datetime) -> User | None:
        return await self._first(
            _SELECT_IN_SESSION, {"user_id": user_id, "session_id": session_id, "now": now}
        )

    async def list_page(self, *, after: UUID | None, limit: int) -> list[User]:
        if after is None:
            result = await self._connection.execute(_SELECT_FIRST_PAGE, {"limit": limit})
        else:
            result = await self._connection.execute(_SELECT_PAGE, {"after": after, "limit": limit})
        return [_to_entity(row) for row in result.mappings()]

    async def delete(self, user_id: UUID) -> bool:
        result = await self._connection.execute(_DELETE, {"user_id": user_id})
        return result.rowcount == 1

    async def update(self, user: User, *, expected_version: int) -> bool:
        """Store `user` over the row still at `expected_version`; False if it changed meanwhile."""
        row = _to_row(user)
        parameters = {f"new_{name}": value for name, value in row.items() if name != "id"}
        parameters.update(user_id=user.id, expected_version=expected_version)
        try:
            async with self._connection.begin_nested():
                result = await self._connection.execute(_UPDATE, parameters)
        except IntegrityError as exc:
            if violated_constraint(exc) == "uq_users_email":
                raise EmailAlreadyRegisteredError() from exc
            raise
        return result.rowcount == 1

    async def _first(self, statement: Any, parameters: dict[str, Any]) -> User | None:
        row = (await self._connection.execute(statement, parameters)).mappings().first()
        return _to_entity(row) if row is not None else None


def _to_row(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "role": user.role.value,
        "is_active": user.is_active,
        "password_hash": user.password_hash,
        "email_verified": user.email_verified,
        "mfa_enabled": user.mfa_enabled,
        "totp_secret_sealed": user.totp_secret_sealed,
        "totp_last_used_step": user.totp_last_used_step,
        "version": user.version,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def _to_entity(row: RowMapping) -> User:
    return User.model_construct(
        id=row["id"],
        email=row["email"],
        full_name=row["full_name"],
        role=Role(row["role"]),
        is_active=row["is_active"],
        password_hash=row["password_hash"],
        email_verified=row["email_verified"],
        mfa_enabled=row["mfa_enabled"],
        totp_secret_sealed=row["totp_secret_sealed"],
        totp_last_used_step=row["totp_last_used_step"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
