from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import AccessTokenClaims, AccessTokenService
from app.application.interfaces.session import SessionUnitOfWork, TokenDenyList
from app.domain.entities.session import InvalidTokenError
from app.domain.entities.user import User


class Authenticate:
    """The active user a bearer access token speaks for; InvalidTokenError for anything else.

    A token is honoured only while its session lives (logout, revocation, password reset,
    deactivation and role changes delete sessions) and its id is not on the deny-list (logout).
    The user and the session are read in one query: this runs on every authenticated request.
    """

    def __init__(
        self,
        uow: SessionUnitOfWork,
        tokens: AccessTokenService,
        deny_list: TokenDenyList,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._deny_list = deny_list
        self._clock = clock

    async def execute(self, token: str) -> User:
        user, _ = await self.execute_with_claims(token)
        return user

    async def execute_with_claims(self, token: str) -> tuple[User, AccessTokenClaims]:
        claims = self._tokens.verify(token)
        if await self._deny_list.is_denied(claims.token_id):
            raise InvalidTokenError()
        async with self._uow as uow:
            user = await uow.users.get_in_session(
                claims.subject, claims.session_id, self._clock.now()
            )
        if user is None or not user.is_active:
            raise InvalidTokenError()
        return user, claims
