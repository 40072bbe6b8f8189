"""The catalog's product."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.errors import InvalidValueError, NotFoundError, PreconditionFailedError
from app.domain.validation import validated
from app.domain.value_objects.currency import is_iso_4217
from app.domain.value_objects.identifiers import new_id
from app.domain.value_objects.text import reject_control_characters, trim

NAME_MAX_LENGTH = 200
DESCRIPTION_MAX_LENGTH = 5_000
PRICE_CENTS_MAX = 100_000_000_000  # a billion in major units: beyond it is a typo, not a price


class PriceRange(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"

    @property
    def level(self) -> float:
        """The ordinal price level in (0, 1] used in product vectors: low 1/3, medium 2/3, high 1."""
        return (list(PriceRange).index(self) + 1) / len(PriceRange)


class Product(BaseModel):
    """A product of the catalog. Immutable: changes produce a new version through `apply`."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    id: UUID
    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX_LENGTH)]
    category: Annotated[str, Field(min_length=1, max_length=64)]
    price_range: PriceRange
    price_cents: Annotated[int, Field(ge=0, le=PRICE_CENTS_MAX)]
    currency: str
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX_LENGTH)] = ""
    version: Annotated[int, Field(ge=1)] = 1
    created_at: datetime
    updated_at: datetime

    @field_validator("name", "category")
    @classmethod
    def _single_line_text(cls, value: str) -> str:
        return reject_control_characters(value)

    @field_validator("description")
    @classmethod
    def _multi_line_text(cls, value: str) -> str:
        return reject_control_characters(value, allow_layout=True)

    @field_validator("category")
    @classmethod
    def _lower_category(cls, value: str) -> str:
        return value.lower()

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = trim(value).upper()
        if not is_iso_4217(code):
            raise ValueError("must be an ISO 4217 currency code")
        return code

    @classmethod
    def create(cls, *, now: datetime, categories: frozenset[str], **fields: Any) -> Self:
        """A new product, validated against the domain rules and the configured categories."""
        product = validated(cls, {"id": new_id(), "created_at": now, "updated_at": now, **fields})
        product.ensure_category_in(categories)
        return product

    def apply(self, changes: ProductChanges, *, now: datetime, categories: frozenset[str]) -> Self:
        """This product with `changes` applied, as its next version."""
        updated = validated(
            type(self),
            {
                **self.model_dump(),
                **changes.as_fields(),
                "version": self.version + 1,
                "updated_at": now,
            },
        )
        updated.ensure_category_in(categories)
        return updated

    def ensure_category_in(self, categories: frozenset[str]) -> None:
        if self.category not in categories:
            raise UnknownCategoryError(
                field="category",
                reason=f"must be one of: {', '.join(sorted(categories))}",
                allowed=sorted(categories),
            )


@dataclass(frozen=True, slots=True)
class ProductChanges:
    """A partial update: a field left as None is not changed."""

    name: str | None = None
    category: str | None = None
    price_range: PriceRange | None = None
    price_cents: int | None = None
    currency: str | None = None
    description: str | None = None

    def as_fields(self) -> dict[str, Any]:
        return {
            field.name: value
            for field in fields(self)
            if (value := getattr(self, field.name)) is not None
        }


# Errors of the product feature
class ProductNotFoundError(NotFoundError):
    code = "product.not_found"


class UnknownCategoryError(InvalidValueError):
    code = "product.unknown_category"


class ProductVersionMismatchError(PreconditionFailedError):
    code = "product.version_mismatch"
