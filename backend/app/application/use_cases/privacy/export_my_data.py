"""GDPR access (art. 15) and portability (art. 20): everything Strata stores about the caller."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.application.interfaces.clock import Clock
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.audit import AuditEvent
from app.domain.entities.payment import Payment
from app.domain.entities.resource import Resource, StoredFile
from app.domain.entities.session import Session
from app.domain.entities.user import User, UserNotFoundError


@dataclass(frozen=True, slots=True)
class PersonalData:
    exported_at: datetime
    user: User
    sessions: list[Session]
    resources: list[Resource]
    files: list[StoredFile]
    payments: list[Payment]
    audit_events: list[AuditEvent]


class ExportMyData:
    """One consistent snapshot (a single transaction) of the caller's data. Audit events about
    the caller come without other people's personal data (see `AuditEvent.as_seen_by`)."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, caller: User) -> PersonalData:
        now = self._clock.now()
        async with self._uow as uow:
            user = await uow.users.get(caller.id)
            if user is None:
                raise UserNotFoundError()
            return PersonalData(
                exported_at=now,
                user=user,
                sessions=await uow.sessions.list_active(user.id, now),
                resources=await uow.resources.list_by_owner(user.id),
                files=await uow.resource_files.list_by_owner(user.id),
                payments=await uow.payments.list_by_user(user.id),
                audit_events=[
                    event.as_seen_by(user.id)
                    for event in await uow.audit_events.list_about_user(user.id)
                ],
            )
