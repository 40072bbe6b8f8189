from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt, StrictStr

from app.application.use_cases.product.create_product import DEFAULT_CURRENCY, NewProduct
from app.application.use_cases.product.recommend_products import MAX_RECOMMENDATIONS
from app.domain.entities.product import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PRICE_CENTS_MAX,
    PriceRange,
    Product,
    ProductChanges,
)
from app.presentation.api.openapi import enum_marker
from app.presentation.api.v1.schemas.common import (
    AsSent,
    IsoCurrency,
    MultiLine,
    NonBlankLine,
    PatchBody,
    RequestBody,
    WholeNumber,
)

Name = Annotated[
    StrictStr,
    Field(min_length=1, max_length=NAME_MAX_LENGTH),
    NonBlankLine,
    AsSent(NAME_MAX_LENGTH),
]
# The schema of each app lists its configured categories (`features/product.py`).
CATEGORIES_ENUM = "product.categories"
Category = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=64,
        examples=["books"],
        description="One of the configured categories, any case, trimmed.",
        json_schema_extra=enum_marker(CATEGORIES_ENUM),
    ),
    AsSent(64),
]
PriceCents = Annotated[StrictInt, Field(ge=0, le=PRICE_CENTS_MAX, examples=[1999]), WholeNumber]
Currency = Annotated[
    StrictStr, Field(min_length=3, max_length=3, examples=["USD"]), IsoCurrency, AsSent(3)
]
Description = Annotated[
    StrictStr, Field(max_length=DESCRIPTION_MAX_LENGTH), MultiLine, AsSent(DESCRIPTION_MAX_LENGTH)
]


class ProductCreate(RequestBody):
    name: Name
    category: Category
    price_range: PriceRange
    price_cents: PriceCents
    currency: Currency = DEFAULT_CURRENCY
    description: Description = ""

    def to_new_product(self) -> NewProduct:
        return NewProduct(**self.model_dump())


class ProductUpdate(PatchBody):
    name: Name | None = None
    category: Category | None = None
    price_range: PriceRange | None = None
    price_cents: PriceCents | None = None
    currency: Currency | None = None
    description: Description | None = None

    def to_changes(self) -> ProductChanges:
        return ProductChanges(**self.model_dump(exclude_unset=True))


class ProductOut(BaseModel):
    id: UUID
    name: str
    category: str
    price_range: PriceRange
    price_cents: int
    currency: str
    description: str
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductOut:
        # Validating from the attributes (in pydantic-core) costs a third of `model_construct`.
        return cls.model_validate(product, from_attributes=True)


class RecommendationRequest(RequestBody):
    categories: Annotated[list[Category], Field(min_length=1, max_length=64)]
    price_range: PriceRange | None = None
    limit: Annotated[StrictInt, Field(ge=1, le=MAX_RECOMMENDATIONS), WholeNumber] = 10


class RecommendationOut(BaseModel):
    product: ProductOut
    score: Annotated[float, Field(ge=0, le=1)]


class RecommendationList(BaseModel):
    items: list[RecommendationOut]
