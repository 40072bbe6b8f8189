"""The user feature: registration, the caller's profile, administrators' user list and access.

At start-up it makes sure an administrator exists (FIRST_ADMIN_EMAIL, or one with a generated
password in development, announced once on the console).
"""

from __future__ import annotations

import logging
import secrets
import sys

from app.application.interfaces.session import SessionUnitOfWork
from app.application.interfaces.user import USER_OBJECT_TYPES, UserUnitOfWork
from app.application.use_cases.user.personal_data import UserPersonalData
from app.core.config import Settings
from app.core.files import write_private_file
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from app.presentation.api.messages import user as messages
from app.presentation.api.v1.dependencies.user import ensure_admin
from app.presentation.api.v1.routers import user as routers
from app.presentation.api.v1.schemas import user as schemas
from app.presentation.container import Container
from app.presentation.features.feature import Feature, PersonalDataPart

logger = logging.getLogger("strata.bootstrap")
DEV_ADMIN_EMAIL = "admin@example.com"


async def ensure_first_admin(container: Container) -> None:
    settings = container.settings
    if settings.first_admin_email and settings.first_admin_password:
        result = await _ensure_admin(
            container, settings.first_admin_email, settings.first_admin_password.get_secret_value()
        )
        if result:
            logger.info("first admin created from FIRST_ADMIN_EMAIL")
        return
    if not settings.is_development:
        return
    password = secrets.token_urlsafe(18)
    if await _ensure_admin(container, DEV_ADMIN_EMAIL, password):
        _announce_dev_admin(settings, password)


async def _ensure_admin(container: Container, email: str, password: str) -> bool:
    return (await ensure_admin(container).execute(email, password)).created


def _announce_dev_admin(settings: Settings, password: str) -> None:
    path = settings.var_dir / "first-admin.txt"
    write_private_file(path, f"email: {DEV_ADMIN_EMAIL}\npassword: {password}\n")
    # Printed once, to the console only (never to the structured logs).
    print(
        f"\n  First admin created: {DEV_ADMIN_EMAIL} / {password}\n"
        f"  (kept in {path}, readable only by you)\n",
        file=sys.stderr,
        flush=True,
    )


FEATURE = Feature(
    key="user",
    messages=messages.MESSAGES,
    routers=(routers.router, routers.registration_router),
    repositories={"users": SqlAlchemyUserRepository},
    units_of_work=(UserUnitOfWork, SessionUnitOfWork),
    object_types=USER_OBJECT_TYPES,
    personal_data=PersonalDataPart(
        holder=lambda _container: UserPersonalData(),
        sections=schemas.PERSONAL_DATA_SECTIONS,
        present=schemas.personal_data_of,
    ),
    bootstrap=ensure_first_admin,
)
