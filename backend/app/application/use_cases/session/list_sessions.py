from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.session import SessionUnitOfWork
from app.domain.entities.session import Session
from app.domain.entities.user import User


class ListSessions:
    def __init__(self, uow: SessionUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, user: User) -> list[Session]:
        async with self._uow as uow:
            return await uow.sessions.list_active(user.id, self._clock.now())
