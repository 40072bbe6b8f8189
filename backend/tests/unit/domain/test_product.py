"""Rules of the catalog's product: what `Product.create` and `Product.apply` accept and refuse."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.domain.entities.product import (
    DESCRIPTION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PRICE_CENTS_MAX,
    PriceRange,
    ProductChanges,
    UnknownCategoryError,
)
from app.domain.errors import InvalidValueError
from tests.builders import make_product
from tests.fakes import CATEGORIES, DEFAULT_NOW

# Characters that both Python's str.strip() and Pydantic's (Unicode White_Space) trimming remove.
WHITESPACE = " \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2005\u200a\u2028\u2029\u202f\u205f\u3000"
blank = st.text(alphabet=WHITESPACE, max_size=20)
# Printable text (no control character) with whitespace mixed in, so trimming is exercised.
name_text = st.text(
    alphabet=st.one_of(st.characters(exclude_categories=("Cc", "Cs")), st.sampled_from(WHITESPACE)),
    max_size=NAME_MAX_LENGTH + 40,
)


def test_create_trims_the_name_and_lower_cases_the_category() -> None:
    product = make_product(name="  Desk lamp \n", category=" Electronics ")

    assert product.name == "Desk lamp"
    assert product.category == "electronics"


def test_create_starts_at_version_one_with_both_timestamps_now() -> None:
    product = make_product()

    assert product.version == 1
    assert product.created_at == product.updated_at == DEFAULT_NOW


def test_create_gives_every_product_its_own_id() -> None:
    assert make_product().id != make_product().id


def test_refuses_a_category_outside_the_configured_set() -> None:
    with pytest.raises(UnknownCategoryError) as caught:
        make_product(category="weapons")

    assert caught.value.field == "category"
    assert caught.value.params["allowed"] == sorted(CATEGORIES)


@pytest.mark.parametrize("price_cents", [0, 1, PRICE_CENTS_MAX])
def test_accepts_prices_within_bounds(price_cents: int) -> None:
    assert make_product(price_cents=price_cents).price_cents == price_cents


@pytest.mark.parametrize("price_cents", [-1, PRICE_CENTS_MAX + 1])
def test_refuses_prices_out_of_bounds(price_cents: int) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make_product(price_cents=price_cents)

    assert caught.value.field == "price_cents"


@pytest.mark.parametrize(("raw", "stored"), [("eur", "EUR"), (" usd ", "USD"), ("JPY", "JPY")])
def test_upper_cases_an_iso_4217_currency(raw: str, stored: str) -> None:
    assert make_product(currency=raw).currency == stored


@pytest.mark.parametrize("currency", ["ABC", "XAU", "EURO", "", "€"])
def test_refuses_a_currency_that_is_not_iso_4217(currency: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make_product(currency=currency)

    assert caught.value.field == "currency"


def test_refuses_a_description_longer_than_the_maximum() -> None:
    assert make_product(description="x" * DESCRIPTION_MAX_LENGTH).description
    with pytest.raises(InvalidValueError) as caught:
        make_product(description="x" * (DESCRIPTION_MAX_LENGTH + 1))

    assert caught.value.field == "description"


@pytest.mark.parametrize("name", ["Desk\x00lamp", "\x1f"])
def test_refuses_control_characters_in_the_name(name: str) -> None:
    # NUL cannot be stored in a PostgreSQL text column (the write fails with a 500), and
    # U+001C..U+001F are whitespace to Python: such a name is blank or unstorable.
    with pytest.raises(InvalidValueError) as caught:
        make_product(name=name)

    assert caught.value.field == "name"


def test_products_are_immutable() -> None:
    product = make_product()

    with pytest.raises(ValidationError):
        product.name = "Renamed"  # type: ignore[misc]


@given(name=blank)
def test_refuses_any_name_blank_after_trimming(name: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make_product(name=name)

    assert caught.value.field == "name"


@given(name=name_text)
def test_a_name_is_accepted_exactly_when_trimmed_it_is_1_to_200_printable_characters(
    name: str,
) -> None:
    trimmed = name.strip()
    printable = not any(unicodedata.category(c) == "Cc" for c in trimmed)
    if 1 <= len(trimmed) <= NAME_MAX_LENGTH and printable:
        assert make_product(name=name).name == trimmed
    else:
        with pytest.raises(InvalidValueError) as caught:
            make_product(name=name)
        assert caught.value.field == "name"


@given(padding=blank, extra=st.integers(min_value=1, max_value=50))
def test_refuses_any_name_longer_than_200_after_trimming(padding: str, extra: int) -> None:
    with pytest.raises(InvalidValueError):
        make_product(name=padding + "n" * (NAME_MAX_LENGTH + extra) + padding)


def test_apply_makes_the_next_version_at_the_given_time() -> None:
    product = make_product()
    later = DEFAULT_NOW + timedelta(hours=1)

    updated = product.apply(
        ProductChanges(name=" Floor lamp ", price_cents=4_999),
        now=later,
        categories=frozenset(CATEGORIES),
    )

    assert (updated.name, updated.price_cents) == ("Floor lamp", 4_999)
    assert updated.version == product.version + 1
    assert updated.updated_at == later
    assert (updated.id, updated.created_at) == (product.id, product.created_at)
    assert (product.name, product.version) == ("Desk lamp", 1)


def test_apply_keeps_the_fields_it_was_not_given() -> None:
    product = make_product(description="Warm light")

    updated = product.apply(
        ProductChanges(category="BOOKS"), now=DEFAULT_NOW, categories=frozenset(CATEGORIES)
    )

    assert updated.category == "books"
    assert updated.model_dump(exclude={"category", "version"}) == product.model_dump(
        exclude={"category", "version"}
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (ProductChanges(name="   "), "name"),
        (ProductChanges(price_cents=-5), "price_cents"),
        (ProductChanges(currency="XYZ"), "currency"),
    ],
)
def test_apply_revalidates_the_changed_product(changes: ProductChanges, field: str) -> None:
    with pytest.raises(InvalidValueError) as caught:
        make_product().apply(changes, now=DEFAULT_NOW, categories=frozenset(CATEGORIES))

    assert caught.value.field == field


def test_apply_refuses_a_category_that_is_no_longer_configured() -> None:
    product = make_product(category="books")

    with pytest.raises(UnknownCategoryError):
        product.apply(
            ProductChanges(name="Atlas"), now=DEFAULT_NOW, categories=frozenset({"electronics"})
        )


def test_changes_name_only_the_fields_that_were_given() -> None:
    changes = ProductChanges(name="Lamp", description="", price_range=PriceRange.HIGH)

    assert changes.as_fields() == {"name": "Lamp", "description": "", "price_range": "high"}
    assert ProductChanges().as_fields() == {}


def test_price_levels_rise_from_a_third_to_one() -> None:
    assert [p.level for p in PriceRange] == pytest.approx([1 / 3, 2 / 3, 1.0])
