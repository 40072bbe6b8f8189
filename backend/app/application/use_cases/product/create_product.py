from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.clock import Clock
from app.application.interfaces.product import PRODUCT, ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.domain.entities.product import PriceRange, Product
from app.domain.entities.user import AdminRequiredError, User

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
    """A caller the policy lets (by default, an administrator) adds a product to the catalog."""

    def __init__(
        self,
        uow: ProductUnitOfWork,
        policy: AccessPolicy,
        clock: Clock,
        settings: ProductSettings,
        cache: ReadCache | None = None,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._clock = clock
        self._settings = settings
        self._cache = cache if cache is not None else NoReadCache()

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
        async with self._uow as uow:
            await uow.products.add(product)
            await uow.commit()
        await self._cache.invalidate()
        return product
