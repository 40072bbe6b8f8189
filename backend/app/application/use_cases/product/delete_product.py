from __future__ import annotations

from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.product import PRODUCT, ProductUnitOfWork
from app.domain.entities.product import ProductNotFoundError
from app.domain.entities.user import AdminRequiredError, User
from app.domain.events.product import ProductDeleted


class DeleteProduct:
    """A caller the policy lets (by default, an administrator) removes a product from the catalog;
    `ProductDeleted` is recorded with the deletion and handed out by `events` after the commit."""

    def __init__(
        self,
        uow: ProductUnitOfWork,
        policy: AccessPolicy,
        clock: Clock,
        cache: ReadCache | None = None,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._cache = cache if cache is not None else NoReadCache()
        self._events = events

    async def execute(self, actor: User, product_id: UUID) -> None:
        # Asked before the transaction: the policy may read the database itself.
        if not await self._policy.allows(actor, "delete", PRODUCT):
            raise AdminRequiredError()
        async with self._uow as uow:
            if not await uow.products.delete(product_id):
                raise ProductNotFoundError(product_id=str(product_id))
            now = self._clock.now()
            deleted = ProductDeleted(occurred_at=now, product_id=product_id)
            await uow.outbox.add([deleted], now)
            await uow.commit()
        await self._cache.invalidate()  # this process at once; the others when they hear the event
        if self._events is not None:
            await self._events.relay([deleted])
