"""The resource feature's share of GDPR export and erasure (see `interfaces/privacy.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from app.application.interfaces.privacy import AfterErasure
from app.application.interfaces.resource import FileStorage, ResourceUnitOfWork
from app.domain.entities.user import User


class ResourcePersonalData:
    """The caller's resources and their files; erasing deletes the rows in the transaction and
    the stored ciphertext once it has committed."""

    unit_of_work = ResourceUnitOfWork

    def __init__(self, storage: FileStorage) -> None:
        self._storage = storage

    async def export(
        self, uow: ResourceUnitOfWork, user: User, now: datetime
    ) -> Mapping[str, object]:
        return {
            "resources": await uow.resources.list_by_owner(user.id),
            "files": await uow.resource_files.list_by_owner(user.id),
        }

    async def erase(
        self, uow: ResourceUnitOfWork, user: User, now: datetime
    ) -> AfterErasure | None:
        files = await uow.resource_files.list_by_owner(user.id)
        await uow.resources.delete_by_owner(user.id)
        storage = self._storage

        async def delete_stored_files() -> None:
            for stored_file in files:
                await storage.delete(stored_file.storage_key)

        return delete_stored_files
