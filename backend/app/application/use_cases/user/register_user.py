from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import PasswordHasher
from app.application.interfaces.user import UserUnitOfWork
from app.application.services.credentials.password_policy import PasswordPolicy
from app.domain.entities.user import EmailAlreadyRegisteredError, Role, User
from app.domain.events.user import UserRegistered
from app.domain.value_objects.email import normalize_email


@dataclass(frozen=True, slots=True)
class Registration:
    email: str
    password: str
    full_name: str | None = None


class RegisterUser:
    """Anyone signs up. The account always gets the `user` role, whatever the request says.

    Once the account is stored, `UserRegistered` tells the other features (credentials mails the
    verification link); without `events` (an administrator made at start-up) nobody is told.
    """

    def __init__(
        self,
        uow: UserUnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._clock = clock
        self._events = events

    async def execute(self, registration: Registration, *, role: Role = Role.USER) -> User:
        email = normalize_email(registration.email)
        await self._policy.ensure_strong(
            registration.password, email=email, full_name=registration.full_name
        )
        async with self._uow as uow:
            if await uow.users.get_by_email(email) is not None:
                raise EmailAlreadyRegisteredError()
        # Hash outside the transaction: no connection is held while Argon2 works.
        password_hash = await self._hasher.hash(registration.password)
        user = User.register(
            email=email,
            password_hash=password_hash,
            full_name=registration.full_name,
            now=self._clock.now(),
            role=role,
        )
        registered = UserRegistered(occurred_at=user.created_at, user_id=user.id)
        async with self._uow as uow:
            await uow.users.add(user)  # the unique constraint settles a race with a twin request
            if self._events is not None:
                await uow.outbox.add([registered], user.created_at)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([registered])
        return user
