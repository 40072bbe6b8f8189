from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

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
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
from app.presentation.api.v1.dependencies.rate_limit import credential_attempts
from app.presentation.container import Container, Provider, ProviderKey

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


async def get_change_password(request: Request, background: BackgroundTasks) -> ChangePassword:
    container = container_of(request)
    return ChangePassword(
        container.unit_of_work(CredentialsUnitOfWork),
        container.password_hasher,
        container.password_policy,
        container.second_factor,
        container.session_tokens,
        container.clock,
        after_response_relay(background, container),
    )


async def get_request_password_reset(request: Request) -> RequestPasswordReset:
    container = container_of(request)
    return RequestPasswordReset(
        container.unit_of_work(CredentialsUnitOfWork),
        container.get(MAIL_SENDER),
        container.clock,
        reset_url=container.settings.public_base_url.rstrip("/") + RESET_PATH,
    )


async def get_reset_password(request: Request, background: BackgroundTasks) -> ResetPassword:
    container = container_of(request)
    return ResetPassword(
        container.unit_of_work(CredentialsUnitOfWork),
        container.password_hasher,
        container.password_policy,
        container.session_tokens,
        container.clock,
        after_response_relay(background, container),
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


async def get_verify_email(request: Request, background: BackgroundTasks) -> VerifyEmail:
    container = container_of(request)
    return VerifyEmail(
        container.unit_of_work(CredentialsUnitOfWork),
        container.clock,
        after_response_relay(background, container),
    )


async def get_set_up_mfa(request: Request) -> SetUpMfa:
    container = container_of(request)
    return SetUpMfa(
        container.unit_of_work(CredentialsUnitOfWork),
        container.totp,
        container.secret_box,
        container.clock,
    )


async def get_enable_mfa(request: Request, background: BackgroundTasks) -> EnableMfa:
    container = container_of(request)
    return EnableMfa(
        container.unit_of_work(CredentialsUnitOfWork),
        container.second_factor,
        container.clock,
        after_response_relay(background, container),
    )


async def get_disable_mfa(request: Request, background: BackgroundTasks) -> DisableMfa:
    container = container_of(request)
    return DisableMfa(
        container.unit_of_work(CredentialsUnitOfWork),
        container.password_hasher,
        container.second_factor,
        container.clock,
        after_response_relay(background, container),
    )


async def get_complete_mfa_login(request: Request, background: BackgroundTasks) -> CompleteMfaLogin:
    container = container_of(request)
    return CompleteMfaLogin(
        container.unit_of_work(CredentialsUnitOfWork),
        container.mfa_tokens,
        container.token_deny_list,
        container.second_factor,
        container.session_tokens,
        container.clock,
        credential_attempts(container),
        after_response_relay(background, container),
    )


ChangePasswordDep = Annotated[ChangePassword, Depends(get_change_password)]
RequestPasswordResetDep = Annotated[RequestPasswordReset, Depends(get_request_password_reset)]
ResetPasswordDep = Annotated[ResetPassword, Depends(get_reset_password)]
VerifyEmailDep = Annotated[VerifyEmail, Depends(get_verify_email)]
SetUpMfaDep = Annotated[SetUpMfa, Depends(get_set_up_mfa)]
EnableMfaDep = Annotated[EnableMfa, Depends(get_enable_mfa)]
DisableMfaDep = Annotated[DisableMfa, Depends(get_disable_mfa)]
CompleteMfaLoginDep = Annotated[CompleteMfaLogin, Depends(get_complete_mfa_login)]
