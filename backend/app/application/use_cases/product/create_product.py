from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.product import PRODUCT, ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.domain.entities.product import PriceRange, Product
from app.domain.entities.user import AdminRequiredError, User
from app.domain.events.product import ProductCreated

DEFAULT_CURRENCY = "USD"


@dataclass(frozen=True, slots=True)
class NewProduct:
    name: str
    category: str
    price_range: PriceRange
    price_cents: int
    currency: str = DEFAULT_CURRENCY
    description: str = ""


class CreateProduct:
    """A caller the policy lets (by default, an administrator) adds a product to the catalog.

    `ProductCreated` is recorded with the product; `events` hands it out after the commit (without
    it, the outbox relay's periodic pass does)."""

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

    async def execute(self, actor: User, new: NewProduct) -> Product:
        if not await self._policy.allows(actor, "create", PRODUCT):
            raise AdminRequiredError()
        product = Product.create(
            now=self._clock.now(),
            categories=self._settings.category_set,
            name=new.name,
            category=new.category,
            price_range=new.price_range,
            price_cents=new.price_cents,
            currency=new.currency,
            description=new.description,
        )
        created = ProductCreated(occurred_at=product.created_at, product_id=product.id)
        async with self._uow as uow:
            await uow.products.add(product)
            await uow.outbox.add([created], product.created_at)
            await uow.commit()
        await self._cache.invalidate()  # this process at once; the others when they hear the event
        if self._events is not None:
            await self._events.relay([created])
        return product
