from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.domain.entities.credentials import (
    InvalidOneTimeTokenError,
    TokenPurpose,
    parse_one_time_token,
)
from app.domain.entities.user import UserChangedConcurrentlyError
from app.domain.events.credentials import EmailVerified


class VerifyEmail:
    """Redeems a link mailed at registration (once): the user's address is proved. An address
    not proved before records `EmailVerified`, handed out by `events` after the commit."""

    def __init__(
        self, uow: CredentialsUnitOfWork, clock: Clock, events: EventRelay | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, token: str) -> None:
        token_id, secret = parse_one_time_token(token)
        verified_events: list[EmailVerified] = []
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
                verified_events.append(EmailVerified(occurred_at=now, user_id=user.id))
                await uow.outbox.add(verified_events, now)
            await uow.commit()
        if verified_events and self._events is not None:
            await self._events.relay(verified_events)
