"""Composition of the product feature: its providers and the use cases routers depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.product import ProductUnitOfWork
from app.application.services.product import ProductSettings
from app.application.use_cases.product.create_product import CreateProduct
from app.application.use_cases.product.delete_product import DeleteProduct
from app.application.use_cases.product.get_product import GetProduct
from app.application.use_cases.product.list_products import ListProducts
from app.application.use_cases.product.recommend_products import RecommendProducts
from app.application.use_cases.product.recommend_similar_products import RecommendSimilarProducts
from app.application.use_cases.product.seed_products import SeedProducts
from app.application.use_cases.product.update_product import UpdateProduct
from app.domain.events import DomainEvent
from app.domain.events.product import ProductEvent, ProductsSeeded
from app.infrastructure.adapters.read_cache import InProcessReadCache
from app.presentation.api.v1.dependencies.common import (
    AccessPolicyDep,
    AfterResponseRelayDep,
    ContainerDep,
    read_unit_of_work,
    unit_of_work,
)
from app.presentation.container import Container, Provider, ProviderKey

PRODUCT_SETTINGS = ProviderKey[ProductSettings]("product.settings")
PRODUCT_CACHE = ProviderKey[InProcessReadCache]("product.cache")

PROVIDERS = (
    Provider(
        key=PRODUCT_SETTINGS,
        build=lambda container: ProductSettings(
            categories=tuple(container.settings.product_categories)
        ),
    ),
    Provider(
        key=PRODUCT_CACHE,
        build=lambda container: InProcessReadCache(
            ttl_seconds=container.settings.product_cache_ttl_seconds,
            max_entries=container.settings.product_cache_max_entries,
        ),
    ),
)

ProductUow = Annotated[ProductUnitOfWork, Depends(unit_of_work(ProductUnitOfWork))]
ReadProductUow = Annotated[ProductUnitOfWork, Depends(read_unit_of_work(ProductUnitOfWork))]


async def get_create_product(
    uow: ProductUow, policy: AccessPolicyDep, container: ContainerDep, events: AfterResponseRelayDep
) -> CreateProduct:
    return CreateProduct(
        uow,
        policy,
        container.clock,
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
        events,
    )


async def get_get_product(uow: ReadProductUow, container: ContainerDep) -> GetProduct:
    return GetProduct(uow, container.get(PRODUCT_CACHE))


async def get_list_products(uow: ReadProductUow, container: ContainerDep) -> ListProducts:
    return ListProducts(uow, container.get(PRODUCT_CACHE))


async def get_update_product(
    uow: ProductUow, policy: AccessPolicyDep, container: ContainerDep, events: AfterResponseRelayDep
) -> UpdateProduct:
    return UpdateProduct(
        uow,
        policy,
        container.clock,
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
        events,
    )


async def get_delete_product(
    uow: ProductUow, policy: AccessPolicyDep, container: ContainerDep, events: AfterResponseRelayDep
) -> DeleteProduct:
    return DeleteProduct(uow, policy, container.clock, container.get(PRODUCT_CACHE), events)


async def get_recommend_products(uow: ReadProductUow, container: ContainerDep) -> RecommendProducts:
    return RecommendProducts(uow, container.get(PRODUCT_SETTINGS), container.get(PRODUCT_CACHE))


async def get_recommend_similar(
    uow: ReadProductUow, container: ContainerDep
) -> RecommendSimilarProducts:
    return RecommendSimilarProducts(
        uow, container.get(PRODUCT_SETTINGS), container.get(PRODUCT_CACHE)
    )


def seed_products(container: Container) -> SeedProducts:
    """For the start-up demo data and `strata seed-demo`, outside any request."""
    return SeedProducts(
        container.unit_of_work(ProductUnitOfWork),
        container.clock,
        container.get(PRODUCT_CACHE),
        container.event_relay,
    )


CreateProductDep = Annotated[CreateProduct, Depends(get_create_product)]
GetProductDep = Annotated[GetProduct, Depends(get_get_product)]
ListProductsDep = Annotated[ListProducts, Depends(get_list_products)]
UpdateProductDep = Annotated[UpdateProduct, Depends(get_update_product)]
DeleteProductDep = Annotated[DeleteProduct, Depends(get_delete_product)]
RecommendProductsDep = Annotated[RecommendProducts, Depends(get_recommend_products)]
RecommendSimilarDep = Annotated[RecommendSimilarProducts, Depends(get_recommend_similar)]


def empty_cache_on_catalog_events(container: Container) -> None:
    """Distributed: a catalog change made by another process empties this one's cache as soon
    as its event arrives (within a second), not when the cache's time to live runs out. The
    process that made the change emptied its own already."""

    async def empty(_event: DomainEvent) -> None:
        await container.get(PRODUCT_CACHE).invalidate()

    container.broadcast_handlers.subscribe(ProductEvent, empty, name="product.cache")
    container.broadcast_handlers.subscribe(ProductsSeeded, empty, name="product.cache.seeded")
