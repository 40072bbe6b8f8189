"""Composition of the product feature: its providers and the use cases routers depend on."""

from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

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
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
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


async def get_create_product(request: Request, background: BackgroundTasks) -> CreateProduct:
    container = container_of(request)
    return CreateProduct(
        container.unit_of_work(ProductUnitOfWork),
        container.access_policy,
        container.clock,
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
        after_response_relay(background, container),
    )


async def get_get_product(request: Request) -> GetProduct:
    container = container_of(request)
    return GetProduct(container.read_unit_of_work(ProductUnitOfWork), container.get(PRODUCT_CACHE))


async def get_list_products(request: Request) -> ListProducts:
    container = container_of(request)
    return ListProducts(
        container.read_unit_of_work(ProductUnitOfWork), container.get(PRODUCT_CACHE)
    )


async def get_update_product(request: Request, background: BackgroundTasks) -> UpdateProduct:
    container = container_of(request)
    return UpdateProduct(
        container.unit_of_work(ProductUnitOfWork),
        container.access_policy,
        container.clock,
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
        after_response_relay(background, container),
    )


async def get_delete_product(request: Request, background: BackgroundTasks) -> DeleteProduct:
    container = container_of(request)
    return DeleteProduct(
        container.unit_of_work(ProductUnitOfWork),
        container.access_policy,
        container.clock,
        container.get(PRODUCT_CACHE),
        after_response_relay(background, container),
    )


async def get_recommend_products(request: Request) -> RecommendProducts:
    container = container_of(request)
    return RecommendProducts(
        container.read_unit_of_work(ProductUnitOfWork),
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
    )


async def get_recommend_similar(request: Request) -> RecommendSimilarProducts:
    container = container_of(request)
    return RecommendSimilarProducts(
        container.read_unit_of_work(ProductUnitOfWork),
        container.get(PRODUCT_SETTINGS),
        container.get(PRODUCT_CACHE),
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
