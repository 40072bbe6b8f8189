from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.domain.entities.credentials import (
    InvalidOneTimeTokenError,
    TokenPurpose,
    parse_one_time_token,
)
from app.domain.entities.user import UserChangedConcurrentlyError


class VerifyEmail:
    """Redeems a link mailed at registration (once): the user's address is proved."""

    def __init__(self, uow: CredentialsUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, token: str) -> None:
        token_id, secret = parse_one_time_token(token)
        async with self._uow as uow:
            now = self._clock.now()
            stored = await uow.one_time_tokens.get(token_id)
            if stored is None or not stored.redeemable(
                secret, TokenPurpose.EMAIL_VERIFICATION, now
            ):
                raise InvalidOneTimeTokenError()
            if not await uow.one_time_tokens.mark_used(token_id, now):
                raise InvalidOneTimeTokenError()
            user = await uow.users.get(stored.user_id)
            if user is None:
                raise InvalidOneTimeTokenError()
            if not user.email_verified:
                verified = user.changed(now, email_verified=True)
                if not await uow.users.update(verified, expected_version=user.version):
                    raise UserChangedConcurrentlyError()
            await uow.commit()
