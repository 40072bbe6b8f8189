from __future__ import annotations

from uuid import UUID

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.application.use_cases.product.get_product import GetProduct
from app.application.use_cases.product.recommend_products import Recommendation, recommend
from app.domain.services.recommendation import Preference


class RecommendSimilarProducts:
    """Anyone asks for the products most like a given one, which is itself left out."""

    def __init__(
        self, uow: ProductUnitOfWork, settings: ProductSettings, cache: ReadCache | None = None
    ) -> None:
        self._uow = uow
        self._settings = settings
        self._cache = cache if cache is not None else NoReadCache()
        self._get_product = GetProduct(uow, cache)

    async def execute(self, product_id: UUID, *, limit: int) -> list[Recommendation]:
        product = await self._get_product.execute(product_id)
        preference = Preference(
            categories=frozenset({product.category}), price_range=product.price_range
        )
        return await recommend(
            self._uow, self._settings, self._cache, preference, limit=limit, exclude=product.id
        )
