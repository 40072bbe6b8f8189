"""The product feature: the catalog, its cache and recommendations.

At start-up in development (SEED_DEMO), an empty catalog gets generated demo products.
"""

from __future__ import annotations

import logging
from typing import Any

from app.application.interfaces.product import PRODUCT_OBJECT_TYPES, ProductUnitOfWork
from app.core.config import Settings
from app.infrastructure.repositories.product import SqlAlchemyProductRepository
from app.infrastructure.seed.demo_catalog import generate_products
from app.presentation.api.messages import product as messages
from app.presentation.api.metrics import HttpMetrics
from app.presentation.api.openapi import fill_enum
from app.presentation.api.v1.dependencies import product as dependencies
from app.presentation.api.v1.routers import product as routers
from app.presentation.api.v1.schemas import product as schemas
from app.presentation.container import Container
from app.presentation.features.feature import Feature
from app.presentation.features.registry import FeatureSet

logger = logging.getLogger("strata.bootstrap")
DEMO_PRODUCT_COUNT = 60


async def seed_demo_products(container: Container) -> None:
    """In development, an empty catalog gets something to browse and recommend."""
    settings = container.settings
    if not (settings.is_development and settings.seed_demo):
        return
    seed = dependencies.seed_products(container)
    if await seed.is_empty():
        products = generate_products(
            DEMO_PRODUCT_COUNT,
            categories=container.get(dependencies.PRODUCT_SETTINGS).categories,
            now=container.clock.now(),
            seed=2026,
        )
        count = await seed.execute(products)
        logger.info("demo catalog seeded", extra={"products": count})


def _track_cache(container: Container, metrics: HttpMetrics) -> None:
    metrics.track_cache("product", container.get(dependencies.PRODUCT_CACHE))


def _describe_openapi(schema: dict[str, Any], settings: Settings, _features: FeatureSet) -> None:
    fill_enum(schema, schemas.CATEGORIES_ENUM, sorted(settings.product_categories))


FEATURE = Feature(
    key="product",
    messages=messages.MESSAGES,
    routers=(routers.router,),
    repositories={"products": SqlAlchemyProductRepository},
    units_of_work=(ProductUnitOfWork,),
    object_types=PRODUCT_OBJECT_TYPES,
    providers=dependencies.PROVIDERS,
    on_start=dependencies.empty_cache_on_catalog_events,
    metrics=_track_cache,
    bootstrap=seed_demo_products,
    describe_openapi=_describe_openapi,
)
