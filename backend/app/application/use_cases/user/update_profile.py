from __future__ import annotations

from collections.abc import Collection

from app.application.interfaces.clock import Clock
from app.application.interfaces.user import UserUnitOfWork
from app.domain.entities.user import (
    User,
    UserChangedConcurrentlyError,
    UserNotFoundError,
    UserVersionMismatchError,
)


class UpdateProfile:
    """A user changes their own profile: the full name, nothing that grants anything.

    `full_name=None` leaves it as it is; an empty (or blank) one clears it. Given
    `expected_versions` (the versions the caller read), only if the stored account is one of them.
    """

    def __init__(self, uow: UserUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(
        self,
        user: User,
        *,
        full_name: str | None,
        expected_versions: Collection[int] | None = None,
    ) -> User:
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            if expected_versions is not None and current.version not in expected_versions:
                raise UserVersionMismatchError()
            if full_name is None:
                return current
            changed = current.changed(self._clock.now(), full_name=full_name.strip() or None)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await uow.commit()
        return changed
