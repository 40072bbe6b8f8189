"""Recommendation ranking: cosine similarity between a preference and product vectors.

The service ranks product classes (category x price range) instead of products; the key property
checks that walking its tiers gives exactly the ranking a brute-force scoring of every product would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.product import PriceRange, UnknownCategoryError
from app.domain.errors import InvalidValueError
from app.domain.services.recommendation import Preference, ProductClass, rank_classes

CATEGORIES = ("electronics", "books", "clothing")


@dataclass(frozen=True)
class Item:
    """What ranking needs of a product: its id and its class."""

    id: UUID
    category: str
    price_range: PriceRange


def brute_force_ranking(
    items: list[Item], preference: Preference, categories: tuple[str, ...], limit: int
) -> list[tuple[UUID, float]]:
    """Score every product on its own vector; best first, ties by id; no resemblance, no place."""
    with_price = preference.price_range is not None
    wanted = [1.0 if c in preference.categories else 0.0 for c in categories]
    if preference.price_range is not None:
        wanted.append(preference.price_range.level)
    scored = []
    for item in items:
        vector = [1.0 if c == item.category else 0.0 for c in categories]
        if with_price:
            vector.append(item.price_range.level)
        dot = sum(a * b for a, b in zip(vector, wanted, strict=True))
        score = round(dot / (math.hypot(*vector) * math.hypot(*wanted)), 9)
        if score > 0:
            scored.append((item.id, score))
    scored.sort(key=lambda pair: (-pair[1], pair[0]))
    return scored[:limit]


def tier_ranking(
    items: list[Item], preference: Preference, categories: tuple[str, ...], limit: int
) -> list[tuple[UUID, float]]:
    """What the recommend use case does: fill `limit` places tier by tier, each tier by id."""
    ranked: list[tuple[UUID, float]] = []
    for tier in rank_classes(preference, categories):
        members = {(c.category, c.price_range) for c in tier.classes}
        in_tier = sorted(i.id for i in items if (i.category, i.price_range) in members)
        ranked.extend((item_id, tier.score) for item_id in in_tier)
    return ranked[:limit]


category_lists = st.lists(
    st.text(alphabet="abcdefgh", min_size=1, max_size=4), min_size=1, max_size=6, unique=True
).map(tuple)
price_ranges = st.sampled_from(PriceRange)


@st.composite
def preferences(draw: st.DrawFn, categories: tuple[str, ...]) -> Preference:
    chosen = draw(st.lists(st.sampled_from(categories), min_size=1, unique=True))
    return Preference(categories=frozenset(chosen), price_range=draw(st.none() | price_ranges))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[tuple[str, ...], Preference, list[Item], int]:
    categories = draw(category_lists)
    items = draw(
        st.lists(
            st.builds(Item, st.uuids(), st.sampled_from(categories), price_ranges),
            max_size=40,
            unique_by=lambda item: item.id,
        )
    )
    limit = draw(st.integers(min_value=1, max_value=50))
    return categories, draw(preferences(categories)), items, limit


@given(scenarios())
def test_tier_ranking_equals_brute_force_ranking_of_every_product(
    scenario: tuple[tuple[str, ...], Preference, list[Item], int],
) -> None:
    categories, preference, items, limit = scenario

    by_tiers = tier_ranking(items, preference, categories, limit)
    brute = brute_force_ranking(items, preference, categories, limit)

    assert [item_id for item_id, _ in by_tiers] == [item_id for item_id, _ in brute]
    assert [score for _, score in by_tiers] == pytest.approx([score for _, score in brute])


@given(st.data())
def test_scores_lie_in_0_1_and_tiers_strictly_decrease(data: st.DataObject) -> None:
    categories = data.draw(category_lists)
    tiers = rank_classes(data.draw(preferences(categories)), categories)

    scores = [tier.score for tier in tiers]
    assert all(0 < score <= 1 for score in scores)
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == len(scores)


@given(st.data())
def test_every_class_appears_in_at_most_one_tier(data: st.DataObject) -> None:
    categories = data.draw(category_lists)
    preference = data.draw(preferences(categories))

    ranked = [cls for tier in rank_classes(preference, categories) for cls in tier.classes]

    assert len(ranked) == len(set(ranked))
    if preference.price_range is not None:  # the price component always resembles a little
        assert len(ranked) == len(categories) * len(PriceRange)
    else:  # by category alone, other categories do not resemble at all
        assert {cls.category for cls in ranked} == preference.categories


@given(st.data())
def test_an_exact_category_and_price_match_scores_1_and_ranks_alone_first(
    data: st.DataObject,
) -> None:
    categories = data.draw(category_lists)
    category = data.draw(st.sampled_from(categories))
    price_range = data.draw(price_ranges)

    first = rank_classes(Preference(frozenset({category}), price_range), categories)[0]

    assert first.score == 1.0
    assert first.classes == (ProductClass(category, price_range),)


def test_without_a_price_range_every_price_of_the_category_scores_1() -> None:
    tiers = rank_classes(Preference(frozenset({"books"})), CATEGORIES)

    assert [tier.score for tier in tiers] == [1.0]
    assert set(tiers[0].classes) == {ProductClass("books", p) for p in PriceRange}


def test_nearer_prices_of_the_same_category_rank_before_other_categories() -> None:
    tiers = rank_classes(Preference(frozenset({"books"}), PriceRange.LOW), CATEGORIES)

    order = [cls for tier in tiers for cls in tier.classes]
    assert order[:3] == [
        ProductClass("books", PriceRange.LOW),
        ProductClass("books", PriceRange.MEDIUM),
        ProductClass("books", PriceRange.HIGH),
    ]
    assert {cls.category for cls in order[3:]} == {"electronics", "clothing"}


def test_refuses_a_preference_without_categories() -> None:
    with pytest.raises(InvalidValueError) as caught:
        rank_classes(Preference(frozenset()), CATEGORIES)

    assert caught.value.field == "categories"


def test_refuses_a_preference_naming_an_unknown_category() -> None:
    with pytest.raises(UnknownCategoryError) as caught:
        rank_classes(Preference(frozenset({"books", "weapons"})), CATEGORIES)

    assert caught.value.field == "categories"
    assert "weapons" in caught.value.reason
    assert caught.value.params["allowed"] == sorted(CATEGORIES)
