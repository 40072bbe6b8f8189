from __future__ import annotations

from app.application.interfaces.security import AccessToken, AccessTokenService, PasswordHasher
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.errors import InvalidCredentialsError, InvalidValueError
from app.domain.value_objects.email import normalize_email


class LogIn:
    """Exchange an e-mail and password for an access token.

    Every failure (unknown e-mail, wrong password, inactive account) is the same error and takes
    the same time, so the answer reveals nothing about which accounts exist.
    """

    def __init__(self, uow: UnitOfWork, hasher: PasswordHasher, tokens: AccessTokenService) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens

    async def execute(self, email: str, password: str) -> AccessToken:
        try:
            normalized = normalize_email(email)
        except InvalidValueError:
            normalized = None
        user = None
        if normalized is not None:
            async with self._uow as uow:
                user = await uow.users.get_by_email(normalized)
        # The transaction is over before hashing starts: Argon2 never holds a pooled connection.
        if user is None:
            await self._hasher.burn_time(password)
            raise InvalidCredentialsError()
        if not await self._hasher.verify(password, user.password_hash) or not user.is_active:
            raise InvalidCredentialsError()
        return self._tokens.issue(user.id)
