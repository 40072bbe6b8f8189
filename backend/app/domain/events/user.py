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


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAccessChanged(DomainEvent):
    """An administrator (`changed_by`) changed the account's role or active flag: these are the
    values it has now. Every session of the account was revoked with it."""

    user_id: UUID
    role: str
    active: bool
    changed_by: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.user_id


@dataclass(frozen=True, slots=True, kw_only=True)
class UserProfileUpdated(DomainEvent):
    user_id: UUID
    changed_fields: tuple[str, ...]  # sorted names of the fields whose value changed, never values

    def __post_init__(self) -> None:
        # Read back from the outbox the names come as a JSON list.
        object.__setattr__(self, "changed_fields", tuple(sorted(self.changed_fields)))

    @property
    def aggregate_id(self) -> UUID | None:
        return self.user_id
