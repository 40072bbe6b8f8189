"""Port of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.audit import AuditEvent

if TYPE_CHECKING:  # the access port records its changes here: no import back at run time
    pass


AUDIT_OBJECT_TYPES = ("audit",)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor_id: UUID | None = None
    action: str | None = None


class AuditRepository(Protocol):
    async def add(self, event: AuditEvent) -> None:
        """Append an event to the trail, in the unit of work's transaction."""
        ...

    async def list_page(
        self, audit_filter: AuditFilter, *, before: UUID | None, limit: int
    ) -> list[AuditEvent]:
        """Newest first (ids are time-ordered), those older than `before` when it is given."""
        ...

    async def list_about_user(self, user_id: UUID) -> list[AuditEvent]:
        """Every event the user is the actor or the target of (GDPR export), oldest first."""
        ...

    async def anonymise_actor(self, user_id: UUID) -> None:
        """Erase the user from the trail (GDPR): actor, IP and the user as target are cleared."""
        ...


class AuditUnitOfWork(UnitOfWork, Protocol):
    """A unit of work that records what happened in the audit trail, in the same transaction."""

    @property
    def audit_events(self) -> AuditRepository: ...
