"""What the mailed links (e-mail verification, password reset) share: a fresh single-use token that
replaces the user's previous ones, and sending that never fails the caller."""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from app.application.interfaces.credentials import CredentialsUnitOfWork, MailMessage, MailSender
from app.domain.entities.credentials import OneTimeToken, TokenPurpose

logger = logging.getLogger("strata.credentials")


async def store_link_token(
    uow: CredentialsUnitOfWork, user_id: UUID, purpose: TokenPurpose, now: datetime
) -> str:
    """Inside the caller's open unit of work (the caller commits): the token to put in the link."""
    token, link_token = OneTimeToken.issue(user_id=user_id, purpose=purpose, now=now)
    await uow.one_time_tokens.delete_for_user(user_id, purpose)
    await uow.one_time_tokens.add(token)
    return link_token


async def send_quietly(mail: MailSender, message: MailMessage, purpose: TokenPurpose) -> None:
    """Links are mailed after the response: a failure is logged (never the address or the link)."""
    try:
        await mail.send(message)
    except Exception as exc:
        logger.warning(
            "mail not sent", extra={"purpose": purpose.value, "error": type(exc).__name__}
        )
