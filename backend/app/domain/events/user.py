"""What happens to an account, told to whoever listens (the credentials feature mails a link)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered(DomainEvent):
    user_id: UUID  # only the id: an event carries no personal data, handlers read what they need

    @property
    def aggregate_id(self) -> UUID | None:
        return self.user_id


@dataclass(frozen=True, slots=True, kw_only=True)
class UserErased(DomainEvent):
    """The account and its personal data are gone (GDPR erasure). The id links to nothing left
    here; it is what other services need to erase their own copies."""

    user_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.user_id
