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
from app.presentation.api.v1.dependencies.common import ContainerDep, UnitOfWorkDep


def get_create_product(uow: UnitOfWorkDep, container: ContainerDep) -> CreateProduct:
    return CreateProduct(uow, container.clock, container.catalog)


def get_get_product(uow: UnitOfWorkDep) -> GetProduct:
    return GetProduct(uow)


def get_list_products(uow: UnitOfWorkDep) -> ListProducts:
    return ListProducts(uow)


def get_update_product(uow: UnitOfWorkDep, container: ContainerDep) -> UpdateProduct:
    return UpdateProduct(uow, container.clock, container.catalog)


def get_delete_product(uow: UnitOfWorkDep) -> DeleteProduct:
    return DeleteProduct(uow)


def get_recommend_products(uow: UnitOfWorkDep, container: ContainerDep) -> RecommendProducts:
    return RecommendProducts(uow, container.catalog)


def get_recommend_similar(uow: UnitOfWorkDep, container: ContainerDep) -> RecommendSimilarProducts:
    return RecommendSimilarProducts(uow, container.catalog)


CreateProductDep = Annotated[CreateProduct, Depends(get_create_product)]
GetProductDep = Annotated[GetProduct, Depends(get_get_product)]
ListProductsDep = Annotated[ListProducts, Depends(get_list_products)]
UpdateProductDep = Annotated[UpdateProduct, Depends(get_update_product)]
DeleteProductDep = Annotated[DeleteProduct, Depends(get_delete_product)]
RecommendProductsDep = Annotated[RecommendProducts, Depends(get_recommend_products)]
RecommendSimilarDep = Annotated[RecommendSimilarProducts, Depends(get_recommend_similar)]
