"""The idempotency feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.idempotency import IdempotencyUnitOfWork
from app.application.interfaces.privacy import AfterErasure
from app.domain.entities.user import User


class IdempotencyPersonalData:
    """Stored first results of the caller's retried requests: nothing to export (they repeat
    what the other sections hold), deleted on erasure."""

    unit_of_work = IdempotencyUnitOfWork

    async def export(
        self, uow: IdempotencyUnitOfWork, user: User, now: datetime
    ) -> Mapping[str, object]:
        return {}

    async def erase(
        self, uow: IdempotencyUnitOfWork, user: User, now: datetime
    ) -> AfterErasure | None:
        await uow.idempotency_keys.delete_for_user(user.id)
        return None
