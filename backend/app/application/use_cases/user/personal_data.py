"""The user feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.privacy import AfterErasure
from app.application.interfaces.user import UserUnitOfWork
from app.domain.entities.user import User


class UserPersonalData:
    """The account itself: exported as the profile, deleted last (everything else points at it)."""

    unit_of_work = UserUnitOfWork

    async def export(self, uow: UserUnitOfWork, user: User, now: datetime) -> Mapping[str, object]:
        return {"profile": user}

    async def erase(self, uow: UserUnitOfWork, user: User, now: datetime) -> AfterErasure | None:
        await uow.users.delete(user.id)
        return None
