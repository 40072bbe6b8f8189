"""What a fresh installation does at every start-up: keep local folders private, then each
feature's own start-up step (the first admin, demo products in development)."""

from __future__ import annotations

from app.core.config import Settings
from app.core.files import restrict_to_owner
from app.presentation.container import Container


async def bootstrap(container: Container) -> None:
    keep_local_folders_private(container.settings)
    for feature in container.features:
        if feature.bootstrap is not None:
            await feature.bootstrap(container)


def keep_local_folders_private(settings: Settings) -> None:
    """VAR_DIR, STORAGE_DIR and MAIL_DIR (secrets, encrypted files, mail with reset links) are for
    the service's user only: one left readable by others (an older version, umask 022) is
    tightened. One not there yet is made owner-only when first needed."""
    for folder in (settings.var_dir, settings.storage_dir, settings.mail_dir):
        if folder.is_dir():
            restrict_to_owner(folder)
