"""What happens to an account, told to whoever listens (the credentials feature mails a link)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    user_id: UUID
    email: str
