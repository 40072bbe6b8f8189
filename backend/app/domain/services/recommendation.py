"""Recommendations by cosine similarity between a preference vector and product vectors.

A product's vector is the one-hot encoding of its category followed by its price level
(`PriceRange.level`). A preference's vector has a 1 on each requested category's component and
the level of its price range; without a price range the price component is left out of both
vectors, so products are then compared by category alone.

Every product with the same (category, price range) has the same vector, so at most
3 x |categories| distinct scores exist. We score those product classes once, vectorised, and the
repository fetches products class by class in score order: the cost of a request depends on the
number of classes and the page size, never on the size of the catalog.

NumPy is imported by the functions that compute, on the first recommendation: importing this
module (for `Preference` and `ProductClass`) does not load it, so the API starts without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.entities.product import PriceRange, UnknownCategoryError
from app.domain.errors import InvalidValueError
from app.domain.value_objects.text import reject_control_characters

# Scores closer than this are the same score: ties are then broken by product id.
_SCORE_DECIMALS = 9

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class ProductClass:
    """All products sharing a category and a price range, and so a vector."""

    category: str
    price_range: PriceRange


@dataclass(frozen=True, slots=True)
class Preference:
    categories: frozenset[str]
    price_range: PriceRange | None = None

    def ensure_valid(self, known_categories: frozenset[str]) -> None:
        if not self.categories:
            raise InvalidValueError(field="categories", reason="must name at least one category")
        for category in self.categories:
            try:
                reject_control_characters(category)
            except ValueError as exc:  # never echoed back in the `unknown` list below
                raise InvalidValueError(field="categories", reason=str(exc)) from exc
        unknown = self.categories - known_categories
        if unknown:
            raise UnknownCategoryError(
                field="categories",
                reason=f"unknown: {', '.join(sorted(unknown))}",
                allowed=sorted(known_categories),
            )


@dataclass(frozen=True, slots=True)
class ScoreTier:
    """Product classes that score the same; within a tier products rank by id."""

    score: float
    classes: tuple[ProductClass, ...]


def class_vectors(categories: Sequence[str], *, with_price: bool) -> npt.NDArray[np.float64]:
    """One row per (category, price range), in `categories` x `PriceRange` order."""
    import numpy as np  # noqa: PLC0415

    one_hot = np.repeat(np.eye(len(categories)), len(PriceRange), axis=0)
    if not with_price:
        return one_hot
    levels = np.tile([price.level for price in PriceRange], len(categories))
    return np.column_stack([one_hot, levels])


def preference_vector(preference: Preference, categories: Sequence[str]) -> npt.NDArray[np.float64]:
    import numpy as np  # noqa: PLC0415

    weights = np.array([1.0 if c in preference.categories else 0.0 for c in categories])
    if preference.price_range is None:
        return weights
    return np.append(weights, preference.price_range.level)


def cosine_scores(
    vectors: npt.NDArray[np.float64], preference: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Cosine similarity of each row of `vectors` with `preference`, clipped to [0, 1]."""
    import numpy as np  # noqa: PLC0415

    norms = np.linalg.norm(vectors, axis=1) * np.linalg.norm(preference)
    scores = np.divide(vectors @ preference, norms, out=np.zeros(len(vectors)), where=norms > 0)
    clipped: npt.NDArray[np.float64] = np.clip(scores, 0.0, 1.0)
    return clipped


def rank_classes(preference: Preference, categories: Sequence[str]) -> list[ScoreTier]:
    """The product classes that resemble `preference` at all, best first, grouped by equal score."""
    import numpy as np  # noqa: PLC0415

    preference.ensure_valid(frozenset(categories))
    with_price = preference.price_range is not None
    scores = np.round(
        cosine_scores(
            class_vectors(categories, with_price=with_price),
            preference_vector(preference, categories),
        ),
        _SCORE_DECIMALS,
    )
    classes = [ProductClass(c, p) for c in categories for p in PriceRange]
    tiers: list[ScoreTier] = []
    for score in sorted({float(s) for s in scores if s > 0}, reverse=True):
        members = tuple(cls for cls, s in zip(classes, scores, strict=True) if s == score)
        tiers.append(ScoreTier(score=score, classes=members))
    return tiers
