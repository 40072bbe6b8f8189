from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import PasswordHasher
from app.application.interfaces.user import UserUnitOfWork
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.use_cases.user.register_user import RegisterUser, Registration
from app.domain.entities.user import EmailAlreadyRegisteredError, Role
from app.domain.value_objects.email import normalize_email


@dataclass(frozen=True, slots=True)
class AdminBootstrap:
    created: bool  # False when an account with that e-mail already existed
    email: str


class EnsureAdmin:
    """Creates an admin account unless one with that e-mail exists (start-up and the CLI)."""

    def __init__(
        self, uow: UserUnitOfWork, hasher: PasswordHasher, policy: PasswordPolicy, clock: Clock
    ) -> None:
        self._uow = uow
        self._register = RegisterUser(uow, hasher, policy, clock)

    async def execute(self, email: str, password: str) -> AdminBootstrap:
        normalized = normalize_email(email)
        async with self._uow as uow:
            existing = await uow.users.get_by_email(normalized)
        if existing is not None:
            return AdminBootstrap(created=False, email=normalized)
        try:
            await self._register.execute(
                Registration(email=normalized, password=password, full_name="Administrator"),
                role=Role.ADMIN,
            )
        except EmailAlreadyRegisteredError:
            # Another process bootstrapped the same admin at the same moment.
            return AdminBootstrap(created=False, email=normalized)
        return AdminBootstrap(created=True, email=normalized)
