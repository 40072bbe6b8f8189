"""Catalog use cases and the read cache: reads go through it, committed writes empty it."""

from __future__ import annotations

import pytest

from app.application.interfaces.product import ProductFilter
from app.application.pagination import encode_cursor
from app.application.services.product import ProductSettings
from app.application.use_cases.product.create_product import CreateProduct, NewProduct
from app.application.use_cases.product.delete_product import DeleteProduct
from app.application.use_cases.product.get_product import GetProduct
from app.application.use_cases.product.list_products import ListProducts
from app.application.use_cases.product.recommend_products import RecommendProducts
from app.application.use_cases.product.recommend_similar_products import RecommendSimilarProducts
from app.application.use_cases.product.seed_products import SeedProducts
from app.application.use_cases.product.update_product import UpdateProduct
from app.domain.entities.product import PriceRange, ProductChanges, ProductVersionMismatchError
from app.domain.entities.user import AdminRequiredError, Role
from app.domain.services.recommendation import Preference
from tests.builders import make_product, make_user
from tests.fakes import CATEGORIES, FakeAccessPolicy, FakeClock, FakeReadCache, FakeUnitOfWork

CATALOG = ProductSettings(categories=CATEGORIES)
POLICY = FakeAccessPolicy()  # the default policy: administrators change the catalog
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
LAMP = NewProduct(name="Lamp", category="electronics", price_range=PriceRange.LOW, price_cents=1)


@pytest.fixture
def cache() -> FakeReadCache:
    return FakeReadCache()


async def test_a_product_read_twice_is_loaded_once(
    uow: FakeUnitOfWork, cache: FakeReadCache
) -> None:
    product = make_product()
    uow.fake_products.seed(product)
    get = GetProduct(uow, cache)

    assert await get.execute(product.id) == product
    assert await get.execute(product.id) == product

    assert cache.loads == [("product", product.id)]
    assert uow.entered == 1


async def test_pages_and_recommendations_are_cached_by_their_question(
    uow: FakeUnitOfWork, cache: FakeReadCache
) -> None:
    uow.fake_products.seed(*(make_product(category="books") for _ in range(3)))
    list_products = ListProducts(uow, cache)
    recommend = RecommendProducts(uow, CATALOG, cache)
    books = Preference(categories=frozenset({"books"}))

    first = await list_products.execute(ProductFilter(), limit=2, cursor=None)
    again = await list_products.execute(ProductFilter(), limit=2, cursor=None)
    await list_products.execute(ProductFilter(), limit=2, cursor=first.next_cursor)
    await recommend.execute(books, limit=3)
    await recommend.execute(books, limit=3)

    assert again == first
    assert first.next_cursor == encode_cursor(first.items[-1].id)
    assert len(cache.loads) == 3


async def test_similar_products_reuse_the_cached_product(
    uow: FakeUnitOfWork, cache: FakeReadCache
) -> None:
    product, twin = make_product(category="books"), make_product(category="books")
    uow.fake_products.seed(product, twin)
    similar = RecommendSimilarProducts(uow, CATALOG, cache)

    await similar.execute(product.id, limit=5)
    found = await similar.execute(product.id, limit=5)

    assert [r.product for r in found] == [twin]
    assert len(cache.loads) == 2


async def test_every_committed_write_empties_the_cache(
    uow: FakeUnitOfWork, cache: FakeReadCache, clock: FakeClock
) -> None:
    created = await CreateProduct(uow, POLICY, clock, CATALOG, cache).execute(ADMIN, LAMP)
    assert cache.invalidations == 1
    await UpdateProduct(uow, POLICY, clock, CATALOG, cache).execute(
        ADMIN, created.id, ProductChanges(name="Brighter lamp")
    )
    assert cache.invalidations == 2
    await DeleteProduct(uow, POLICY, clock, cache).execute(ADMIN, created.id)
    assert cache.invalidations == 3
    await SeedProducts(uow, clock, cache).execute([make_product(), make_product()])
    assert cache.invalidations == 4


async def test_a_refused_write_leaves_the_cache_alone(
    uow: FakeUnitOfWork, cache: FakeReadCache, clock: FakeClock
) -> None:
    product = make_product()
    uow.fake_products.seed(product)
    await GetProduct(uow, cache).execute(product.id)

    with pytest.raises(AdminRequiredError):
        await DeleteProduct(uow, POLICY, clock, cache).execute(make_user(), product.id)
    with pytest.raises(ProductVersionMismatchError):
        await UpdateProduct(uow, POLICY, clock, CATALOG, cache).execute(
            ADMIN, product.id, ProductChanges(name="X"), expected_versions={7}
        )

    assert cache.invalidations == 0
    assert ("product", product.id) in cache.entries


async def test_an_update_is_seen_by_the_next_read(
    uow: FakeUnitOfWork, cache: FakeReadCache, clock: FakeClock
) -> None:
    product = make_product(name="Old name")
    uow.fake_products.seed(product)
    get = GetProduct(uow, cache)
    await get.execute(product.id)

    await UpdateProduct(uow, POLICY, clock, CATALOG, cache).execute(
        ADMIN, product.id, ProductChanges(name="New name")
    )

    assert (await get.execute(product.id)).name == "New name"
