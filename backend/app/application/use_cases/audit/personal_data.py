"""The audit feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.interfaces.privacy import AfterErasure
from app.domain.entities.user import User


class AuditPersonalData:
    """Events about the caller, without other people's data (`AuditEvent.as_seen_by`); erasing
    anonymises them, as the trail itself must stay."""

    unit_of_work = AuditUnitOfWork

    async def export(self, uow: AuditUnitOfWork, user: User, now: datetime) -> Mapping[str, object]:
        events = await uow.audit_events.list_about_user(user.id)
        return {"audit_events": [event.as_seen_by(user.id) for event in events]}

    async def erase(self, uow: AuditUnitOfWork, user: User, now: datetime) -> AfterErasure | None:
        await uow.audit_events.anonymise_actor(user.id)
        return None
