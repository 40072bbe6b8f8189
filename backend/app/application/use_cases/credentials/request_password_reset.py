from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork, MailMessage, MailSender
from app.application.services.credentials.one_time_links import send_quietly, store_link_token
from app.domain.entities.credentials import (
    TokenPurpose,
)
from app.domain.errors import InvalidValueError
from app.domain.value_objects.email import normalize_email


class RequestPasswordReset:
    """Mails a reset link if the address has an account; says nothing either way.

    Meant to run after the 202 has been sent (a background task), so neither the answer nor its
    timing tells whether the account exists. A failure is logged, never raised to anyone.
    """

    def __init__(
        self, uow: CredentialsUnitOfWork, mail: MailSender, clock: Clock, *, reset_url: str
    ) -> None:
        self._uow = uow
        self._mail = mail
        self._clock = clock
        self._reset_url = reset_url

    async def execute(self, email: str) -> None:
        try:
            normalized = normalize_email(email)
        except InvalidValueError:
            return
        async with self._uow as uow:
            user = await uow.users.get_by_email(normalized)
            if user is None or not user.is_active:
                return
            # No domain event: the link's token is bookkeeping of this feature alone, and a
            # request changes nothing until the link is spent (`PasswordChanged` tells that).
            link_token = await store_link_token(
                uow, user.id, TokenPurpose.PASSWORD_RESET, self._clock.now()
            )
            await uow.commit()
        message = MailMessage(
            to=user.email,
            subject="Reset your Strata password",
            text=(
                "Someone (hopefully you) asked to reset the password of your Strata account.\n\n"
                f"Open this link within 30 minutes to choose a new one:\n{self._reset_url}{link_token}\n\n"
                "If it was not you, ignore this message: your password has not changed.\n"
            ),
        )
        await send_quietly(self._mail, message, TokenPurpose.PASSWORD_RESET)
