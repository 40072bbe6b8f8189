"""Cursor pagination: the opaque cursor codec, and ListProducts walking keyset pages."""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.application.interfaces.product import ProductFilter
from app.application.pagination import InvalidCursorError, decode_cursor, encode_cursor
from app.application.use_cases.product.list_products import ListProducts
from app.domain.entities.product import PriceRange, Product
from app.domain.errors import InvalidValueError
from tests.builders import make_product
from tests.fakes import FakeUnitOfWork

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=10,
)
payloads = json_values | st.fixed_dictionaries({"after": json_values | st.uuids().map(str)})


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decodes_or_is_refused(cursor: str) -> UUID | None:
    """decode_cursor's answer, with InvalidCursorError (and nothing else) turned into None."""
    try:
        return decode_cursor(cursor)
    except InvalidCursorError:
        return None


# ---------------------------------------------------------------- the cursor codec


@given(st.uuids())
def test_decoding_an_encoded_cursor_gives_back_the_id(value: UUID) -> None:
    assert decode_cursor(encode_cursor(value)) == value


@given(st.uuids())
def test_cursors_are_url_safe_without_padding(value: UUID) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_-]+", encode_cursor(value))


def test_no_cursor_means_from_the_start() -> None:
    assert decode_cursor(None) is None


@given(st.text())
def test_arbitrary_text_decodes_or_is_an_invalid_cursor(cursor: str) -> None:
    decodes_or_is_refused(cursor)  # any other exception fails the test


@given(st.binary())
def test_arbitrary_bytes_behind_base64_decode_or_are_an_invalid_cursor(raw: bytes) -> None:
    decodes_or_is_refused(b64(raw))


@given(payloads)
def test_a_json_cursor_decodes_only_when_after_is_a_uuid_string(payload: Any) -> None:
    after = payload.get("after") if isinstance(payload, dict) else None
    try:
        expected = UUID(after) if isinstance(after, str) else None
    except ValueError:
        expected = None

    assert decodes_or_is_refused(b64(json.dumps(payload).encode())) == expected


@pytest.mark.parametrize("cursor", ["", "not a cursor", "%%%", "é", b64(b"[1]"), b64(b'{"id":1}')])
def test_refuses_a_cursor_it_did_not_issue(cursor: str) -> None:
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor)


def test_refuses_a_deeply_nested_payload_as_an_invalid_cursor() -> None:
    # json.loads raises RecursionError past ~1,000 levels; decode_cursor must not let it out.
    with pytest.raises(InvalidCursorError):
        decode_cursor(b64(b"[" * 5_000))


# ---------------------------------------------------------------- ListProducts


async def walk(
    uow: FakeUnitOfWork, product_filter: ProductFilter, limit: int
) -> list[list[Product]]:
    """Every page, following next_cursor until there is none."""
    pages: list[list[Product]] = []
    cursor = None
    while True:
        page = await ListProducts(uow).execute(product_filter, limit=limit, cursor=cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert len(pages) <= 100, "pagination does not end"
        cursor = page.next_cursor


@given(size=st.integers(min_value=0, max_value=30), limit=st.integers(min_value=1, max_value=12))
async def test_walking_the_pages_returns_every_product_once_in_id_order(
    size: int, limit: int
) -> None:
    uow = FakeUnitOfWork()
    products = [make_product(name=f"Product {n}") for n in range(size)]
    uow.fake_products.seed(*products)

    pages = await walk(uow, ProductFilter(), limit)

    assert [p.id for page in pages for p in page] == sorted(p.id for p in products)
    assert all(len(page) == limit for page in pages[:-1])
    assert len(pages) == max(1, -(-size // limit))  # no empty page after a full last page


async def test_the_last_page_has_no_next_cursor() -> None:
    uow = FakeUnitOfWork()
    uow.fake_products.seed(*(make_product() for _ in range(3)))

    first = await ListProducts(uow).execute(ProductFilter(), limit=2, cursor=None)
    last = await ListProducts(uow).execute(ProductFilter(), limit=2, cursor=first.next_cursor)

    assert (len(first.items), first.next_cursor is not None) == (2, True)
    assert (len(last.items), last.next_cursor) == (1, None)


@pytest.fixture
def shop() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_products.seed(
        make_product(name="Desk LAMP", category="electronics", price_range=PriceRange.LOW),
        make_product(name="Floor lamp", category="electronics", price_range=PriceRange.HIGH),
        make_product(name="Lampshade book", category="books", price_range=PriceRange.LOW),
        make_product(name="Atlas", category="books", price_range=PriceRange.HIGH),
        make_product(name="100% wool (lamp_s)", category="clothing", price_range=PriceRange.LOW),
    )
    return uow


@pytest.mark.parametrize(
    ("product_filter", "names"),
    [
        (ProductFilter(category="books"), {"Lampshade book", "Atlas"}),
        (ProductFilter(price_range=PriceRange.HIGH), {"Floor lamp", "Atlas"}),
        (
            ProductFilter(name_contains="lamp"),
            {"Desk LAMP", "Floor lamp", "Lampshade book", "100% wool (lamp_s)"},
        ),
        (ProductFilter(name_contains="LaMp", category="electronics"), {"Desk LAMP", "Floor lamp"}),
        (ProductFilter(name_contains="% wool"), {"100% wool (lamp_s)"}),
        (ProductFilter(name_contains="p_s"), {"100% wool (lamp_s)"}),
        (
            ProductFilter(name_contains=""),
            {"Desk LAMP", "Floor lamp", "Lampshade book", "Atlas", "100% wool (lamp_s)"},
        ),
        (ProductFilter(category="books", price_range=PriceRange.LOW, name_contains="x"), set()),
    ],
)
async def test_filters_keep_only_matching_products(
    shop: FakeUnitOfWork, product_filter: ProductFilter, names: set[str]
) -> None:
    page = await ListProducts(shop).execute(product_filter, limit=100, cursor=None)

    assert {p.name for p in page.items} == names
    assert page.next_cursor is None


async def test_a_filtered_walk_stays_within_the_filter(shop: FakeUnitOfWork) -> None:
    pages = await walk(shop, ProductFilter(name_contains="lamp"), limit=1)

    assert len(pages) == 4
    assert all("lamp" in p.name.lower() for page in pages for p in page)


async def test_refuses_a_cursor_it_did_not_issue_before_reading(shop: FakeUnitOfWork) -> None:
    with pytest.raises(InvalidCursorError):
        await ListProducts(shop).execute(ProductFilter(), limit=10, cursor="bogus")

    assert shop.entered == 0


@pytest.mark.parametrize("limit", [0, -1])
async def test_refuses_a_limit_below_one(shop: FakeUnitOfWork, limit: int) -> None:
    # The router bounds `limit`, but the use case is also called directly; today limit=0 fails
    # with IndexError (items[-1] of an empty page) instead of a domain error.
    with pytest.raises(InvalidValueError) as caught:
        await ListProducts(shop).execute(ProductFilter(), limit=limit, cursor=None)

    assert caught.value.field == "limit"
