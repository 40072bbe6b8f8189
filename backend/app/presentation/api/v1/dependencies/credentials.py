from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.credentials import (
    CredentialsUnitOfWork,
    MailSender,
    VerificationMailUnitOfWork,
)
from app.application.use_cases.credentials.change_password import ChangePassword
from app.application.use_cases.credentials.complete_mfa_login import CompleteMfaLogin
from app.application.use_cases.credentials.disable_mfa import DisableMfa
from app.application.use_cases.credentials.enable_mfa import EnableMfa
from app.application.use_cases.credentials.request_password_reset import RequestPasswordReset
from app.application.use_cases.credentials.reset_password import ResetPassword
from app.application.use_cases.credentials.send_email_verification import SendEmailVerification
from app.application.use_cases.credentials.set_up_mfa import SetUpMfa
from app.application.use_cases.credentials.verify_email import VerifyEmail
from app.domain.events import DomainEvent
from app.domain.events.user import UserRegistered
from app.infrastructure.adapters.mail import FileMailSender, SmtpMailSender
from app.presentation.api.v1.dependencies.common import (
    AfterResponseRelayDep,
    ContainerDep,
    unit_of_work,
)
from app.presentation.api.v1.dependencies.rate_limit import credential_attempts
from app.presentation.container import Container, Provider, ProviderKey

CredentialsUow = Annotated[CredentialsUnitOfWork, Depends(unit_of_work(CredentialsUnitOfWork))]

MAIL_SENDER = ProviderKey[MailSender]("credentials.mail_sender")


def build_mail_sender(container: Container) -> MailSender:
    """SMTP when SMTP_HOST is set; otherwise `.eml` files (development and tests)."""
    settings = container.settings
    if settings.smtp_host:
        return SmtpMailSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_user,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            start_tls=settings.smtp_starttls,
            timeout_seconds=settings.smtp_timeout_seconds,
        )
    return FileMailSender(settings.mail_dir, settings.smtp_from)


PROVIDERS = (Provider(key=MAIL_SENDER, build=build_mail_sender),)

# Where the links in e-mails lead: the client application's pages, which call the API.
RESET_PATH = "/reset-password?token="
VERIFY_PATH = "/verify-email?token="


async def get_change_password(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> ChangePassword:
    return ChangePassword(
        uow,
        container.password_hasher,
        container.password_policy,
        container.second_factor,
        container.session_tokens,
        container.clock,
        events,
    )


async def get_request_password_reset(
    uow: CredentialsUow, container: ContainerDep
) -> RequestPasswordReset:
    return RequestPasswordReset(
        uow,
        container.get(MAIL_SENDER),
        container.clock,
        reset_url=container.settings.public_base_url.rstrip("/") + RESET_PATH,
    )


async def get_reset_password(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> ResetPassword:
    return ResetPassword(
        uow,
        container.password_hasher,
        container.password_policy,
        container.session_tokens,
        container.clock,
        events,
    )


def send_email_verification(container: Container) -> SendEmailVerification:
    return SendEmailVerification(
        container.unit_of_work(VerificationMailUnitOfWork),
        container.get(MAIL_SENDER),
        container.clock,
        verify_url=container.settings.public_base_url.rstrip("/") + VERIFY_PATH,
    )


def mail_verification_links(container: Container) -> None:
    """A new account gets its verification link (the user feature only says it registered)."""

    async def on_registered(event: DomainEvent) -> None:
        if isinstance(event, UserRegistered):
            await send_email_verification(container).execute(event.user_id, event_id=event.event_id)

    container.event_publisher.subscribe(
        UserRegistered, on_registered, name="credentials.verification_mail"
    )


async def get_verify_email(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> VerifyEmail:
    return VerifyEmail(uow, container.clock, events)


async def get_set_up_mfa(uow: CredentialsUow, container: ContainerDep) -> SetUpMfa:
    return SetUpMfa(uow, container.totp, container.secret_box, container.clock)


async def get_enable_mfa(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> EnableMfa:
    return EnableMfa(uow, container.second_factor, container.clock, events)


async def get_disable_mfa(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> DisableMfa:
    return DisableMfa(
        uow, container.password_hasher, container.second_factor, container.clock, events
    )


async def get_complete_mfa_login(
    uow: CredentialsUow, container: ContainerDep, events: AfterResponseRelayDep
) -> CompleteMfaLogin:
    return CompleteMfaLogin(
        uow,
        container.mfa_tokens,
        container.token_deny_list,
        container.second_factor,
        container.session_tokens,
        container.clock,
        credential_attempts(container),
        events,
    )


ChangePasswordDep = Annotated[ChangePassword, Depends(get_change_password)]
RequestPasswordResetDep = Annotated[RequestPasswordReset, Depends(get_request_password_reset)]
ResetPasswordDep = Annotated[ResetPassword, Depends(get_reset_password)]
VerifyEmailDep = Annotated[VerifyEmail, Depends(get_verify_email)]
SetUpMfaDep = Annotated[SetUpMfa, Depends(get_set_up_mfa)]
EnableMfaDep = Annotated[EnableMfa, Depends(get_enable_mfa)]
DisableMfaDep = Annotated[DisableMfa, Depends(get_disable_mfa)]
CompleteMfaLoginDep = Annotated[CompleteMfaLogin, Depends(get_complete_mfa_login)]
