from __future__ import annotations

from app.application.interfaces.security import AccessTokenService
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User
from app.domain.errors import InvalidTokenError


class Authenticate:
    """The active user a bearer access token speaks for; InvalidTokenError for anything else."""

    def __init__(self, uow: UnitOfWork, tokens: AccessTokenService) -> None:
        self._uow = uow
        self._tokens = tokens

    async def execute(self, token: str) -> User:
        claims = self._tokens.verify(token)
        async with self._uow as uow:
            user = await uow.users.get(claims.subject)
        if user is None or not user.is_active:
            raise InvalidTokenError()
        return user
