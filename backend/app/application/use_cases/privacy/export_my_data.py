"""GDPR access (art. 15) and portability (art. 20): everything Strata stores about the caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.application.interfaces.clock import Clock
from app.application.interfaces.privacy import PersonalDataHolder, PrivacyUnitOfWork
from app.domain.entities.user import User, UserNotFoundError


@dataclass(frozen=True, slots=True)
class PersonalData:
    exported_at: datetime
    # Section name -> what one feature holds about the caller (its holder decides the value).
    sections: Mapping[str, object]


class ExportMyData:
    """One consistent snapshot (a single read-only transaction) of the caller's data, gathered from
    every feature that holds some: each holder exports its own sections."""

    def __init__(
        self,
        uow: PrivacyUnitOfWork,
        holders: Sequence[PersonalDataHolder[Any]],
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._holders = holders
        self._clock = clock

    async def execute(self, caller: User) -> PersonalData:
        now = self._clock.now()
        sections: dict[str, object] = {}
        async with self._uow as uow:
            user = await uow.users.get(caller.id)
            if user is None:
                raise UserNotFoundError()
            for holder in self._holders:
                sections.update(await holder.export(uow, user, now))
        return PersonalData(exported_at=now, sections=sections)
