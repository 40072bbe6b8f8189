from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.application.interfaces.cache import NoReadCache, ReadCache
from app.application.interfaces.product import ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.domain.entities.product import Product
from app.domain.errors import InvalidValueError
from app.domain.services.recommendation import Preference, ScoreTier, rank_classes

MAX_RECOMMENDATIONS = 50


@dataclass(frozen=True, slots=True)
class Recommendation:
    product: Product
    score: float  # cosine similarity in [0, 1]


class RecommendProducts:
    """Anyone asks for the products closest to a preference (categories, price range)."""

    def __init__(
        self, uow: ProductUnitOfWork, settings: ProductSettings, cache: ReadCache | None = None
    ) -> None:
        self._uow = uow
        self._settings = settings
        self._cache = cache if cache is not None else NoReadCache()

    async def execute(self, preference: Preference, *, limit: int) -> list[Recommendation]:
        return await recommend(
            self._uow, self._settings, self._cache, preference, limit=limit, exclude=None
        )


async def recommend(
    uow: ProductUnitOfWork,
    settings: ProductSettings,
    cache: ReadCache,
    preference: Preference,
    *,
    limit: int,
    exclude: UUID | None,
) -> list[Recommendation]:
    if not 1 <= limit <= MAX_RECOMMENDATIONS:
        raise InvalidValueError(field="limit", reason=f"must be from 1 to {MAX_RECOMMENDATIONS}")
    tiers = rank_classes(preference, settings.categories)
    found = await cache.get_or_load(
        ("recommendations", preference, limit, exclude),
        lambda: _fill_tiers(uow, tiers, limit=limit, exclude=exclude),
    )
    return list(found or ())


async def _fill_tiers(
    uow: ProductUnitOfWork, tiers: list[ScoreTier], *, limit: int, exclude: UUID | None
) -> tuple[Recommendation, ...]:
    """Fill `limit` places tier by tier (equal scores), each tier's products by id."""
    found: list[Recommendation] = []
    async with uow:
        for tier in tiers:
            wanted = limit - len(found)
            if wanted == 0:
                break
            products = await uow.products.list_in_classes(
                tier.classes, limit=wanted, exclude=exclude
            )
            found.extend(Recommendation(product=p, score=tier.score) for p in products)
    return tuple(found)
