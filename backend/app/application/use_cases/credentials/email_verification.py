"""Proving an e-mail address: a single-use link mailed at registration."""

from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import MailMessage, MailSender
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.services.credentials.one_time_links import send_quietly, store_link_token
from app.domain.entities.credentials import (
    InvalidOneTimeTokenError,
    TokenPurpose,
    parse_one_time_token,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError


class SendEmailVerification:
    """Mails a new verification link (run after the response; failures are logged only)."""

    def __init__(self, uow: UnitOfWork, mail: MailSender, clock: Clock, *, verify_url: str) -> None:
        self._uow = uow
        self._mail = mail
        self._clock = clock
        self._verify_url = verify_url

    async def execute(self, user: User) -> None:
        async with self._uow as uow:
            link_token = await store_link_token(
                uow, user.id, TokenPurpose.EMAIL_VERIFICATION, self._clock.now()
            )
            await uow.commit()
        message = MailMessage(
            to=user.email,
            subject="Confirm your e-mail address for Strata",
            text=(
                "Welcome to Strata.\n\nOpen this link within 30 minutes to confirm your address:\n"
                f"{self._verify_url}{link_token}\n"
            ),
        )
        await send_quietly(self._mail, message, TokenPurpose.EMAIL_VERIFICATION)


class VerifyEmail:
    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
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
