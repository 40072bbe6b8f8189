"""What happens to the catalog, told to whoever listens (every process empties its catalog cache
on any of these; only ids and field names travel, never a product's values)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductEvent(DomainEvent):
    product_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.product_id


class ProductCreated(ProductEvent): ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductUpdated(ProductEvent):
    changed_fields: tuple[str, ...]  # sorted names of the fields whose value changed

    def __post_init__(self) -> None:
        # Read back from the outbox the names come as a JSON list: keep the event immutable and
        # equal to the one recorded.
        object.__setattr__(self, "changed_fields", tuple(sorted(self.changed_fields)))


class ProductDeleted(ProductEvent): ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductsSeeded(DomainEvent):
    """One batch of generated products stored at once (one event per batch, not per product)."""

    count: int
