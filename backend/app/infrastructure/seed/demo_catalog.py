"""A realistic generated catalog, for demos and benchmarks (`strata seed-demo`)."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import datetime

from app.domain.entities.product import PriceRange, Product

_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "electronics": (
        (
            "Wireless",
            "Smart",
            "Portable",
            "Noise-Cancelling",
            "4K",
            "Compact",
            "Ergonomic",
            "Solar",
        ),
        ("Headphones", "Speaker", "Monitor", "Keyboard", "Charger", "Camera", "Router", "Drone"),
    ),
    "books": (
        (
            "The Silent",
            "A Brief History of",
            "Practical",
            "The Last",
            "Modern",
            "Hidden",
            "Essential",
        ),
        ("Garden", "Algorithms", "Cartographer", "Ocean", "Philosophy", "Kitchen", "Empire"),
    ),
    "clothing": (
        ("Linen", "Merino", "Waterproof", "Organic Cotton", "Slim-Fit", "Vintage", "Quilted"),
        ("Jacket", "Sweater", "Trousers", "Shirt", "Scarf", "Dress", "Hoodie", "Raincoat"),
    ),
}
_GENERIC_WORDS = (("Classic", "Premium", "Everyday", "Deluxe"), ("Item", "Set", "Kit", "Pack"))
_PRICE_CENTS = {
    PriceRange.LOW: (199, 2_999),
    PriceRange.MEDIUM: (3_000, 19_999),
    PriceRange.HIGH: (20_000, 250_000),
}


def generate_products(
    count: int, *, categories: Sequence[str], now: datetime, seed: int | None = None
) -> Iterator[Product]:
    """`count` products spread over `categories` and price ranges, named like real ones."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not security
    allowed = frozenset(categories)
    for number in range(1, count + 1):
        category = rng.choice(list(categories))
        adjectives, nouns = _WORDS.get(category, _GENERIC_WORDS)
        price_range = rng.choice(list(PriceRange))
        low, high = _PRICE_CENTS[price_range]
        name = f"{rng.choice(adjectives)} {rng.choice(nouns)}"
        if category not in _WORDS:
            name = f"{name} ({category})"
        yield Product.create(
            now=now,
            categories=allowed,
            name=f"{name} #{number}",
            category=category,
            price_range=price_range,
            price_cents=max(low, rng.randint(low, high) // 100 * 100 - 1),  # prices end in .99
            currency="USD",
            description=f"{name}: a {price_range.value}-priced pick from our {category} range.",
        )
