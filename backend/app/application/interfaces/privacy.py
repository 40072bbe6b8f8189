"""Port of GDPR export and erasure: each feature that stores personal data holds its share of it.

The privacy use cases know no table: they open one unit of work (a snapshot for the export, one
transaction for the erasure) and ask every registered holder for its part.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Protocol, TypeVar

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.credentials import SecondFactorUnitOfWork
from app.application.interfaces.events import OutboxUnitOfWork
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User

UnitOfWorkT_contra = TypeVar("UnitOfWorkT_contra", bound=UnitOfWork, contravariant=True)

# Work to do once the erasure has committed (deleting stored files): never before, so a rollback
# cannot leave rows that point at deleted files.
AfterErasure = Callable[[], Awaitable[None]]


class PersonalDataHolder(Protocol[UnitOfWorkT_contra]):
    """One feature's share of a user's personal data.

    `unit_of_work` is the Protocol of the repositories the holder reads and changes; the unit of work
    it is given exposes at least those.
    """

    @property
    def unit_of_work(self) -> type: ...

    async def export(
        self, uow: UnitOfWorkT_contra, user: User, now: datetime
    ) -> Mapping[str, object]:
        """The holder's export sections (name -> value), read in the caller's snapshot."""
        ...

    async def erase(
        self, uow: UnitOfWorkT_contra, user: User, now: datetime
    ) -> AfterErasure | None:
        """Delete or anonymise the user's data in the caller's transaction (the caller commits)."""
        ...


class PrivacyUnitOfWork(SecondFactorUnitOfWork, AuditUnitOfWork, OutboxUnitOfWork, Protocol):
    """What the privacy use cases touch themselves: the account, its second factor, the audit
    trail and the outbox. The unit of work they are given also exposes what every holder's `unit_of_work` names."""
