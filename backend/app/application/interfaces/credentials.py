"""Ports of credentials: password strength, mail, TOTP, one-time tokens and recovery codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.events import EventHandlerUnitOfWork
from app.application.interfaces.session import SessionUnitOfWork
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.interfaces.user import UserRepository
from app.domain.entities.credentials import OneTimeToken, TokenPurpose


class PasswordStrengthChecker(Protocol):
    async def weakness(self, password: str, *, user_inputs: Sequence[str]) -> str | None:
        """Why `password` is too easy to guess (for these user inputs), or None if it is not."""
        ...


@dataclass(frozen=True, slots=True)
class MailMessage:
    to: str
    subject: str
    text: str


class MailSender(Protocol):
    async def send(self, message: MailMessage) -> None:
        """Deliver or raise; callers decide whether a failure matters to the client."""
        ...


class TotpAuthenticator(Protocol):
    """RFC 6238 time-based one-time passwords (30-second steps)."""

    def new_secret(self) -> str: ...

    def provisioning_uri(self, secret: str, *, account: str) -> str:
        """The `otpauth://` URI authenticator apps read (usually from a QR code)."""
        ...

    def matching_step(self, secret: str, code: str, *, at: datetime) -> int | None:
        """The time step (±1 around `at`) whose code is `code`, or None."""
        ...


class OneTimeTokenRepository(Protocol):
    async def add(self, token: OneTimeToken) -> None: ...

    async def get(self, token_id: UUID) -> OneTimeToken | None: ...

    async def mark_used(self, token_id: UUID, now: datetime) -> bool:
        """Spend the token if nobody has yet; False if it was already used."""
        ...

    async def delete_for_user(self, user_id: UUID, purpose: TokenPurpose) -> int:
        """Forget the user's other tokens of this purpose (a new one supersedes them)."""
        ...


class RecoveryCodeRepository(Protocol):
    async def replace_all(self, user_id: UUID, code_hashes: Sequence[str]) -> None: ...

    async def use(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        """Spend an unused code of the user; False if there is none with that hash."""
        ...

    async def delete_all(self, user_id: UUID) -> None: ...


class SecondFactorUnitOfWork(UnitOfWork, Protocol):
    """What checking a TOTP or recovery code touches (the user's last step, spent codes)."""

    @property
    def users(self) -> UserRepository: ...

    @property
    def recovery_codes(self) -> RecoveryCodeRepository: ...


class CredentialsUnitOfWork(SessionUnitOfWork, SecondFactorUnitOfWork, Protocol):
    """What the credentials feature's use cases (passwords, e-mail links, MFA) touch."""

    @property
    def one_time_tokens(self) -> OneTimeTokenRepository: ...


class VerificationMailUnitOfWork(CredentialsUnitOfWork, EventHandlerUnitOfWork, Protocol):
    """What mailing a verification link touches: the link's token, once per registration."""
