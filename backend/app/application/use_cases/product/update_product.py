from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.product import PRODUCT, ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.domain.entities.product import (
    Product,
    ProductChanges,
    ProductNotFoundError,
    ProductVersionMismatchError,
)
from app.domain.entities.user import AdminRequiredError, User
from app.domain.events.product import ProductUpdated


class UpdateProduct:
    """A caller the policy lets (by default, an administrator) changes a product; given
    `expected_versions` (the versions the caller read), only if the stored version is one of
    them, so a client never overwrites a change it has not seen. A stored change records
    `ProductUpdated`, handed out by `events` after the commit."""

    def __init__(
        self,
        uow: ProductUnitOfWork,
        policy: AccessPolicy,
        clock: Clock,
        settings: ProductSettings,
        cache: ReadCache | None = None,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._settings = settings
        self._cache = cache if cache is not None else NoReadCache()
        self._events = events

    async def execute(
        self,
        actor: User,
        product_id: UUID,
        changes: ProductChanges,
        *,
        expected_versions: Collection[int] | None = None,
    ) -> Product:
        # Asked before the transaction: the policy may read the database itself.
        if not await self._policy.allows(actor, "update", PRODUCT):
            raise AdminRequiredError()
        async with self._uow as uow:
            current = await uow.products.get(product_id)
            if current is None:
                raise ProductNotFoundError(product_id=str(product_id))
            if expected_versions is not None and current.version not in expected_versions:
                raise ProductVersionMismatchError(current_version=current.version)
            if not changes.as_fields():
                return current
            now = self._clock.now()
            updated = current.apply(changes, now=now, categories=self._settings.category_set)
            # The conditional write catches a concurrent update between our read and our write.
            if not await uow.products.replace(updated, expected_version=current.version):
                raise ProductVersionMismatchError(current_version=None)
            event = ProductUpdated(
                occurred_at=now,
                product_id=product_id,
                changed_fields=_changed_fields(current, updated, changes),
            )
            await uow.outbox.add([event], now)
            await uow.commit()
        await self._cache.invalidate()  # this process at once; the others when they hear the event
        if self._events is not None:
            await self._events.relay([event])
        return updated


def _changed_fields(current: Product, updated: Product, changes: ProductChanges) -> tuple[str, ...]:
    """The fields `changes` set to another value than they had (names only, never values)."""
    return tuple(
        sorted(
            name for name in changes.as_fields() if getattr(updated, name) != getattr(current, name)
        )
    )
