"""What every product use case is configured with."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProductSettings:
    """The configured categories, in their configured order (the order of vector components)."""

    categories: tuple[str, ...]

    @property
    def category_set(self) -> frozenset[str]:
        return frozenset(self.categories)
