from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.unit_of_work import UnitOfWork
from app.domain.entities.user import User
from app.domain.errors import UserChangedConcurrentlyError, UserNotFoundError


class UpdateProfile:
    """A user changes their own profile: the full name, nothing that grants anything."""

    def __init__(self, uow: UnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, user: User, *, full_name: str | None) -> User:
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            changed = current.changed(
                self._clock.now(), full_name=(full_name or "").strip() or None
            )
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await uow.commit()
        return changed
