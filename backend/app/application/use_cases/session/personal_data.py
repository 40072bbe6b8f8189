"""The session feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.privacy import AfterErasure
from app.application.interfaces.session import SessionUnitOfWork
from app.domain.entities.user import User


class SessionPersonalData:
    """The caller's active sessions; erasing deletes them all, so every token stops."""

    unit_of_work = SessionUnitOfWork

    async def export(
        self, uow: SessionUnitOfWork, user: User, now: datetime
    ) -> Mapping[str, object]:
        return {"sessions": await uow.sessions.list_active(user.id, now)}

    async def erase(self, uow: SessionUnitOfWork, user: User, now: datetime) -> AfterErasure | None:
        await uow.sessions.delete_all_for_user(user.id)
        return None
