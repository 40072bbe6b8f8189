from __future__ import annotations

from collections.abc import Collection

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.user import UserUnitOfWork
from app.domain.entities.user import (
    User,
    UserChangedConcurrentlyError,
    UserNotFoundError,
    UserVersionMismatchError,
)
from app.domain.events.user import UserProfileUpdated


class UpdateProfile:
    """A user changes their own profile: the full name, nothing that grants anything.

    `full_name=None` leaves it as it is; an empty (or blank) one clears it. Given
    `expected_versions` (the versions the caller read), only if the stored account is one of them.
    A value that changed records `UserProfileUpdated` (the field names, never the values), handed
    out by `events` after the commit.
    """

    def __init__(self, uow: UserUnitOfWork, clock: Clock, events: EventRelay | None = None) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

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
            now = self._clock.now()
            changed = current.changed(now, full_name=full_name.strip() or None)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            told: list[UserProfileUpdated] = []
            # The same name again is stored (a new version) but is no news to anyone.
            if changed.full_name != current.full_name:
                told.append(
                    UserProfileUpdated(
                        occurred_at=now, user_id=user.id, changed_fields=("full_name",)
                    )
                )
                await uow.outbox.add(told, now)
            await uow.commit()
        if told and self._events is not None:
            await self._events.relay(told)
        return changed
