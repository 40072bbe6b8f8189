"""Product use cases record their domain event with their change, and relay it after the commit;
a refused or failed change tells nobody."""

from __future__ import annotations

import pytest

from app.application.services.product import ProductSettings
from app.application.use_cases.product.create_product import CreateProduct, NewProduct
from app.application.use_cases.product.delete_product import DeleteProduct
from app.application.use_cases.product.seed_products import BATCH_SIZE, SeedProducts
from app.application.use_cases.product.update_product import UpdateProduct
from app.domain.entities.product import (
    PriceRange,
    Product,
    ProductChanges,
    ProductNotFoundError,
    ProductVersionMismatchError,
    UnknownCategoryError,
)
from app.domain.entities.user import AdminRequiredError, Role
from app.domain.events.product import (
    ProductCreated,
    ProductDeleted,
    ProductsSeeded,
    ProductUpdated,
)
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_product, make_user
from tests.fakes import (
    CATEGORIES,
    FakeAccessPolicy,
    FakeClock,
    FakeEventPublisher,
    FakeReadCache,
    FakeUnitOfWork,
)
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

CATALOG = ProductSettings(categories=CATEGORIES)
POLICY = FakeAccessPolicy()
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
USER = make_user(email="user@example.com")
LAMP = NewProduct(
    name="Desk lamp", category="electronics", price_range=PriceRange.LOW, price_cents=1
)


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


@pytest.fixture
def stored(uow: FakeUnitOfWork) -> Product:
    product = make_product(name="Desk lamp", category="electronics", price_cents=1_999)
    uow.fake_products.seed(product)
    return product


def update(uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher) -> UpdateProduct:
    return UpdateProduct(uow, POLICY, clock, CATALOG, events=events)


async def test_create_records_product_created_and_relays_it_after_the_commit(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    product = await CreateProduct(uow, POLICY, clock, CATALOG, events=events).execute(ADMIN, LAMP)

    expected = ProductCreated(occurred_at=clock.now(), product_id=product.id)
    assert_told_after_commit(uow, events, expected)
    [entry] = uow.fake_outbox.committed.values()
    assert entry.recorded_at == clock.now()


async def test_a_refused_or_invalid_create_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    with pytest.raises(AdminRequiredError):
        await CreateProduct(uow, POLICY, clock, CATALOG, events=events).execute(USER, LAMP)
    with pytest.raises(UnknownCategoryError):
        await CreateProduct(uow, POLICY, clock, CATALOG, events=events).execute(
            ADMIN, NewProduct(name="x", category="boats", price_range=PriceRange.LOW, price_cents=1)
        )
    assert_nobody_told(uow, events)


async def test_update_records_the_names_of_the_fields_whose_value_changed(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, stored: Product
) -> None:
    clock.advance()
    # The name is set to what it already is: not a change. Price and description are.
    changes = ProductChanges(name=" Desk lamp ", price_cents=2_500, description="Brighter")
    await update(uow, clock, events).execute(ADMIN, stored.id, changes)

    expected = ProductUpdated(
        occurred_at=clock.now(),
        product_id=stored.id,
        changed_fields=("description", "price_cents"),
    )
    assert_told_after_commit(uow, events, expected)


async def test_an_update_with_no_changes_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, stored: Product
) -> None:
    await update(uow, clock, events).execute(ADMIN, stored.id, ProductChanges())
    assert_nobody_told(uow, events)


async def test_a_refused_stale_or_racing_update_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, stored: Product
) -> None:
    changes = ProductChanges(price_cents=5)
    with pytest.raises(AdminRequiredError):
        await update(uow, clock, events).execute(USER, stored.id, changes)
    with pytest.raises(ProductNotFoundError):
        await update(uow, clock, events).execute(ADMIN, new_id(), changes)
    with pytest.raises(ProductVersionMismatchError):
        await update(uow, clock, events).execute(
            ADMIN, stored.id, changes, expected_versions={stored.version + 1}
        )
    # Another request updates the product between our read and our conditional write.
    uow.fake_products.replace = _always_stale
    with pytest.raises(ProductVersionMismatchError):
        await update(uow, clock, events).execute(ADMIN, stored.id, changes)

    assert_nobody_told(uow, events)


async def _always_stale(product: Product, *, expected_version: int) -> bool:
    return False


async def test_delete_records_product_deleted_and_still_empties_this_process_cache(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, stored: Product
) -> None:
    cache = FakeReadCache()
    await DeleteProduct(uow, POLICY, clock, cache, events).execute(ADMIN, stored.id)

    assert_told_after_commit(
        uow, events, ProductDeleted(occurred_at=clock.now(), product_id=stored.id)
    )
    assert cache.invalidations == 1


async def test_a_refused_or_missing_delete_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, stored: Product
) -> None:
    with pytest.raises(AdminRequiredError):
        await DeleteProduct(uow, POLICY, clock, events=events).execute(USER, stored.id)
    with pytest.raises(ProductNotFoundError):
        await DeleteProduct(uow, POLICY, clock, events=events).execute(ADMIN, new_id())
    assert_nobody_told(uow, events)
    assert uow.fake_products.committed == [stored]


async def test_seed_records_one_event_per_committed_batch(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    products = [make_product(name=f"Product {n}") for n in range(BATCH_SIZE + 3)]
    await SeedProducts(uow, clock, events=events).execute(products)

    expected = [
        ProductsSeeded(occurred_at=clock.now(), count=BATCH_SIZE),
        ProductsSeeded(occurred_at=clock.now(), count=3),
    ]
    assert sorted(uow.fake_outbox.committed_events, key=lambda e: -e.count) == expected
    assert events.published == expected
    # Each batch's event leaves after that batch's own commit.
    assert events.commits_at_publish == [1, 2]
    assert not events.published_inside_transaction


async def test_seeding_nothing_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    assert await SeedProducts(uow, clock, events=events).execute([]) == 0
    assert_nobody_told(uow, events)
