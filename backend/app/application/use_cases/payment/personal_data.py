"""The payment feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.payment import PaymentUnitOfWork
from app.application.interfaces.privacy import AfterErasure
from app.domain.entities.user import User


class PaymentPersonalData:
    """The caller's payments; erasing anonymises them, as the accounts must stay."""

    unit_of_work = PaymentUnitOfWork

    async def export(
        self, uow: PaymentUnitOfWork, user: User, now: datetime
    ) -> Mapping[str, object]:
        return {"payments": await uow.payments.list_by_user(user.id)}

    async def erase(self, uow: PaymentUnitOfWork, user: User, now: datetime) -> AfterErasure | None:
        await uow.payments.anonymise_user(user.id, now=now)
        return None
