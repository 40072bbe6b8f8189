"""Mail a new account its e-mail verification link (on `UserRegistered`)."""

from __future__ import annotations

from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import (
    MailMessage,
    MailSender,
    VerificationMailUnitOfWork,
)
from app.application.services.credentials.one_time_links import send_quietly, store_link_token
from app.domain.entities.credentials import (
    TokenPurpose,
)


class SendEmailVerification:
    """Mails a new verification link (run after the response; failures are logged only)."""

    def __init__(
        self, uow: VerificationMailUnitOfWork, mail: MailSender, clock: Clock, *, verify_url: str
    ) -> None:
        self._uow = uow
        self._mail = mail
        self._clock = clock
        self._verify_url = verify_url

    HANDLER = "credentials.verification_mail"

    async def execute(self, user_id: UUID, *, event_id: UUID | None = None) -> None:
        """Given the `UserRegistered` event's id, once per event however often it is delivered;
        nothing for an account that is gone or already verified."""
        async with self._uow as uow:
            user = await uow.users.get(user_id)
            if user is None or user.email_verified:
                return
            if event_id is not None and not await uow.processed_events.claim(
                self.HANDLER, event_id, self._clock.now()
            ):
                return
            # No domain event: this handles `UserRegistered`, and the link's token is bookkeeping
            # of this feature alone; `EmailVerified` tells when the link is spent.
            link_token = await store_link_token(
                uow, user_id, TokenPurpose.EMAIL_VERIFICATION, self._clock.now()
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
