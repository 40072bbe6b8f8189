from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Header, Query, Request, Response, status

from app.application.interfaces.product import ProductFilter
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from app.application.use_cases.product.recommend_products import (
    MAX_RECOMMENDATIONS,
    Recommendation,
)
from app.domain.entities.product import PriceRange
from app.domain.services.recommendation import Preference
from app.domain.value_objects.text import UNTRIMMED_LINE_PATTERN
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.product import (
    CreateProductDep,
    DeleteProductDep,
    GetProductDep,
    ListProductsDep,
    RecommendProductsDep,
    RecommendSimilarDep,
    UpdateProductDep,
)
from app.presentation.api.v1.http_caching import etag_for, if_match_versions, matches_if_none_match
from app.presentation.api.v1.schemas.common import CursorPage, PlainText
from app.presentation.api.v1.schemas.product import (
    ProductCreate,
    ProductOut,
    ProductUpdate,
    RecommendationList,
    RecommendationOut,
    RecommendationRequest,
)

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/products", tags=["product"])
_ADMIN_ERRORS = (401, 403)
CategoryQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="Any case, trimmed; a category that is not configured matches nothing",
        json_schema_extra={"pattern": UNTRIMMED_LINE_PATTERN},
    ),
    PlainText,
]
NameQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description="Name contains, case-insensitive; trimmed",
        json_schema_extra={"pattern": UNTRIMMED_LINE_PATTERN},
    ),
    PlainText,
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(*_ADMIN_ERRORS, 422),
    summary="Add a product (admin)",
)
async def create_product(
    body: ProductCreate,
    actor: CurrentUser,
    create: CreateProductDep,
    request: Request,
    response: Response,
) -> ProductOut:
    product = await create.execute(actor, body.to_new_product())
    response.headers["Location"] = str(request.url_for("get_product", product_id=product.id).path)
    response.headers["ETag"] = etag_for(product)
    return ProductOut.of(product)


@router.get("", responses=problem_responses(400, 422), summary="Browse the catalog")
async def list_products(
    list_products: ListProductsDep,
    category: CategoryQuery = None,
    price_range: PriceRange | None = None,
    q: NameQuery = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> CursorPage[ProductOut]:
    product_filter = ProductFilter(
        category=category.strip().lower() if category else None,
        price_range=price_range,
        name_contains=q.strip() if q else None,
    )
    page = await list_products.execute(product_filter, limit=limit, cursor=cursor)
    return CursorPage(items=[ProductOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post(
    "/recommendations",
    responses=problem_responses(422),
    summary="Products closest to a preference, by cosine similarity",
)
async def recommend_products(
    body: RecommendationRequest, recommend: RecommendProductsDep
) -> RecommendationList:
    preference = Preference(
        categories=frozenset(c.lower() for c in body.categories), price_range=body.price_range
    )
    return _recommendations(await recommend.execute(preference, limit=body.limit))


@router.get(
    "/{product_id}",
    response_model=ProductOut,
    responses={304: {"description": "Not modified"}, **problem_responses(404, 422)},
    summary="Read a product (ETag / If-None-Match)",
)
async def get_product(
    product_id: UUID,
    get: GetProductDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ProductOut | Response:
    product = await get.execute(product_id)
    etag = etag_for(product)
    if matches_if_none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return ProductOut.of(product)


@router.patch(
    "/{product_id}",
    responses=problem_responses(*_ADMIN_ERRORS, 404, 412, 422),
    summary="Change a product (admin; If-Match)",
)
async def update_product(
    product_id: UUID,
    body: ProductUpdate,
    actor: CurrentUser,
    update: UpdateProductDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ProductOut:
    product = await update.execute(
        actor, product_id, body.to_changes(), expected_versions=if_match_versions(if_match)
    )
    response.headers["ETag"] = etag_for(product)
    return ProductOut.of(product)


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_ADMIN_ERRORS, 404),
    summary="Remove a product (admin)",
)
async def delete_product(product_id: UUID, actor: CurrentUser, delete: DeleteProductDep) -> None:
    await delete.execute(actor, product_id)


@router.get(
    "/{product_id}/similar",
    responses=problem_responses(404, 422),
    summary="Products most like this one (itself excluded)",
)
async def similar_products(
    product_id: UUID,
    recommend: RecommendSimilarDep,
    limit: Annotated[int, Query(ge=1, le=MAX_RECOMMENDATIONS)] = 10,
) -> RecommendationList:
    return _recommendations(await recommend.execute(product_id, limit=limit))


def _recommendations(found: list[Recommendation]) -> RecommendationList:
    return RecommendationList(
        items=[RecommendationOut(product=ProductOut.of(r.product), score=r.score) for r in found]
    )
