"""What a fresh installation does at start-up: make sure an admin exists and, in development,
that the catalog has something to recommend."""

from __future__ import annotations

import logging
import secrets
import sys

from app.core.config import Settings
from app.core.files import restrict_to_owner, write_private_file
from app.infrastructure.seed.demo_catalog import generate_products
from app.presentation.api.v1.dependencies.container import Container

logger = logging.getLogger("strata.bootstrap")
DEV_ADMIN_EMAIL = "admin@example.com"
DEMO_PRODUCT_COUNT = 60


async def bootstrap(container: Container) -> None:
    keep_local_folders_private(container.settings)
    await ensure_first_admin(container)
    settings = container.settings
    if settings.is_development and settings.seed_demo:
        await seed_demo_catalog_if_empty(container)


def keep_local_folders_private(settings: Settings) -> None:
    """VAR_DIR, STORAGE_DIR and MAIL_DIR (secrets, encrypted files, mail with reset links) are for
    the service's user only: one left readable by others (an older version, umask 022) is
    tightened. One not there yet is made owner-only when first needed."""
    for folder in (settings.var_dir, settings.storage_dir, settings.mail_dir):
        if folder.is_dir():
            restrict_to_owner(folder)


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


async def seed_demo_catalog_if_empty(container: Container) -> None:
    seed = container.seed_catalog()
    if await seed.is_empty():
        products = generate_products(
            DEMO_PRODUCT_COUNT,
            categories=container.catalog.categories,
            now=container.clock.now(),
            seed=2026,
        )
        count = await seed.execute(products)
        logger.info("demo catalog seeded", extra={"products": count})


async def _ensure_admin(container: Container, email: str, password: str) -> bool:
    return (await container.ensure_admin().execute(email, password)).created


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
