from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.use_cases.product.create_product import CreateProduct
from app.application.use_cases.product.delete_product import DeleteProduct
from app.application.use_cases.product.get_product import GetProduct
from app.application.use_cases.product.list_products import ListProducts
from app.application.use_cases.product.recommend_products import (
    RecommendProducts,
    RecommendSimilarProducts,
)
from app.application.use_cases.product.update_product import UpdateProduct
from app.presentation.api.v1.dependencies.common import (
    ContainerDep,
    ReadOnlyUnitOfWorkDep,
    UnitOfWorkDep,
)


async def get_create_product(uow: UnitOfWorkDep, container: ContainerDep) -> CreateProduct:
    return CreateProduct(uow, container.clock, container.catalog, container.catalog_cache)


async def get_get_product(uow: ReadOnlyUnitOfWorkDep, container: ContainerDep) -> GetProduct:
    return GetProduct(uow, container.catalog_cache)


async def get_list_products(uow: ReadOnlyUnitOfWorkDep, container: ContainerDep) -> ListProducts:
    return ListProducts(uow, container.catalog_cache)


async def get_update_product(uow: UnitOfWorkDep, container: ContainerDep) -> UpdateProduct:
    return UpdateProduct(uow, container.clock, container.catalog, container.catalog_cache)


async def get_delete_product(uow: UnitOfWorkDep, container: ContainerDep) -> DeleteProduct:
    return DeleteProduct(uow, container.catalog_cache)


async def get_recommend_products(
    uow: ReadOnlyUnitOfWorkDep, container: ContainerDep
) -> RecommendProducts:
    return RecommendProducts(uow, container.catalog, container.catalog_cache)


async def get_recommend_similar(
    uow: ReadOnlyUnitOfWorkDep, container: ContainerDep
) -> RecommendSimilarProducts:
    return RecommendSimilarProducts(uow, container.catalog, container.catalog_cache)


CreateProductDep = Annotated[CreateProduct, Depends(get_create_product)]
GetProductDep = Annotated[GetProduct, Depends(get_get_product)]
ListProductsDep = Annotated[ListProducts, Depends(get_list_products)]
UpdateProductDep = Annotated[UpdateProduct, Depends(get_update_product)]
DeleteProductDep = Annotated[DeleteProduct, Depends(get_delete_product)]
RecommendProductsDep = Annotated[RecommendProducts, Depends(get_recommend_products)]
RecommendSimilarDep = Annotated[RecommendSimilarProducts, Depends(get_recommend_similar)]
