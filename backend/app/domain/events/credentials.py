"""What happens to an account's credentials, told to whoever listens (a notice "your password
was changed" is one listener's business). Only the user's id and codes travel: never a
password, hash, code, secret or token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialsEvent(DomainEvent):
    user_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.user_id


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordChanged(CredentialsEvent):
    """A new password: chosen by the signed-in user ("change") or through a mailed link
    ("reset"). Either way the user's other sessions were revoked with it."""

    via: Literal["change", "reset"]


class SecondFactorEnabled(CredentialsEvent): ...


class SecondFactorDisabled(CredentialsEvent): ...


class EmailVerified(CredentialsEvent):
    """The account's address is proved (its verification link, or a reset link, reached it)."""
