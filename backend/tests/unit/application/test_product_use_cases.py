"""Product use cases: create, get, update, delete, seed (listing: test_pagination; recommending:
test_product_recommendations)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from app.application.interfaces.access import PolicyRule
from app.application.services.product import ProductSettings
from app.application.use_cases.product.create_product import CreateProduct, NewProduct
from app.application.use_cases.product.delete_product import DeleteProduct
from app.application.use_cases.product.get_product import GetProduct
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
from app.domain.entities.user import AdminRequiredError, Role, User
from app.domain.errors import InvalidValueError
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_product, make_user
from tests.fakes import (
    CATEGORIES,
    FakeAccessPolicy,
    FakeClock,
    FakeProductRepository,
    FakeUnitOfWork,
)

CATALOG = ProductSettings(categories=CATEGORIES)
POLICY = FakeAccessPolicy()  # the default policy: administrators change the catalog
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
NON_ADMINS = [
    pytest.param(make_user(role=Role.USER), id="user"),
    pytest.param(make_user(role=Role.ADMIN, is_active=False), id="inactive-admin"),
]
LAMP = NewProduct(
    name=" Desk lamp ", category="Electronics", price_range=PriceRange.LOW, price_cents=1_999
)


@pytest.fixture
def stored(uow: FakeUnitOfWork) -> Product:
    product = make_product()
    uow.fake_products.seed(product)
    return product


# ---------------------------------------------------------------- CreateProduct


async def test_create_stores_and_commits_the_normalised_product(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    product = await CreateProduct(uow, POLICY, clock, CATALOG).execute(ADMIN, LAMP)

    assert uow.fake_products.committed == [product]
    assert uow.committed == 1
    assert (product.name, product.category, product.currency) == ("Desk lamp", "electronics", "USD")
    assert product.created_at == clock.now()


@pytest.mark.parametrize("actor", NON_ADMINS)
async def test_create_refuses_anyone_but_an_active_admin_and_stores_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, actor: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await CreateProduct(uow, POLICY, clock, CATALOG).execute(actor, LAMP)

    assert uow.fake_products.committed == []
    assert uow.committed == 0


async def test_create_refuses_an_unknown_category_and_stores_nothing(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    new = NewProduct(name="Sword", category="weapons", price_range=PriceRange.HIGH, price_cents=1)

    with pytest.raises(UnknownCategoryError):
        await CreateProduct(uow, POLICY, clock, CATALOG).execute(ADMIN, new)

    assert uow.fake_products.committed == []


# ---------------------------------------------------------------- GetProduct


async def test_get_returns_the_stored_product(uow: FakeUnitOfWork, stored: Product) -> None:
    assert await GetProduct(uow).execute(stored.id) == stored


async def test_get_raises_not_found_for_an_unknown_id(uow: FakeUnitOfWork, stored: Product) -> None:
    missing = new_id()

    with pytest.raises(ProductNotFoundError) as caught:
        await GetProduct(uow).execute(missing)

    assert caught.value.params == {"product_id": str(missing)}


# ---------------------------------------------------------------- UpdateProduct


async def test_update_stores_the_next_version_and_commits(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product
) -> None:
    clock.advance(timedelta(minutes=5))

    updated = await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
        ADMIN, stored.id, ProductChanges(name="Floor lamp", price_range=PriceRange.MEDIUM)
    )

    assert uow.fake_products.committed == [updated]
    assert uow.committed == 1
    assert (updated.name, updated.price_range, updated.version) == ("Floor lamp", "medium", 2)
    assert updated.updated_at == clock.now() != stored.updated_at


async def test_update_accepts_a_current_expected_version(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product
) -> None:
    updated = await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
        ADMIN, stored.id, ProductChanges(price_cents=10), expected_versions={7, stored.version}
    )

    assert uow.fake_products.committed_row(stored.id) == updated


@pytest.mark.parametrize("expected_versions", [{2}, set()], ids=["stale", "none-acceptable"])
async def test_update_refuses_when_the_stored_version_is_not_expected_and_changes_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product, expected_versions: set[int]
) -> None:
    with pytest.raises(ProductVersionMismatchError) as caught:
        await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
            ADMIN, stored.id, ProductChanges(name="Lost"), expected_versions=expected_versions
        )

    assert caught.value.params == {"current_version": 1}
    assert uow.fake_products.committed == [stored]
    assert uow.committed == 0


class RacingProductRepository(FakeProductRepository):
    """Another request commits a new version right after this one reads the product."""

    async def get(self, product_id: UUID) -> Product | None:
        current = await super().get(product_id)
        if current is not None:
            rival = current.model_copy(update={"name": "Rival", "version": current.version + 1})
            self.commit_elsewhere(rival)
        return current


async def test_update_refuses_when_a_concurrent_update_won_the_race(clock: FakeClock) -> None:
    products = RacingProductRepository()
    stored = make_product()
    products.seed(stored)
    uow = FakeUnitOfWork(products=products)

    with pytest.raises(ProductVersionMismatchError):
        await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
            ADMIN, stored.id, ProductChanges(name="Mine")
        )

    assert [(p.name, p.version) for p in products.committed] == [("Rival", 2)]
    assert uow.committed == 0


async def test_update_without_changes_returns_the_product_unchanged(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product
) -> None:
    result = await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
        ADMIN, stored.id, ProductChanges()
    )

    assert result == stored
    assert uow.fake_products.committed == [stored]
    assert uow.committed == 0


@pytest.mark.parametrize("actor", NON_ADMINS)
async def test_update_refuses_anyone_but_an_active_admin(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product, actor: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
            actor, stored.id, ProductChanges(name="X")
        )

    assert uow.fake_products.committed == [stored]


async def test_update_raises_not_found_for_an_unknown_id(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product
) -> None:
    with pytest.raises(ProductNotFoundError):
        await UpdateProduct(uow, POLICY, clock, CATALOG).execute(
            ADMIN, new_id(), ProductChanges(name="X")
        )


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (ProductChanges(category="weapons"), UnknownCategoryError),
        (ProductChanges(name="  "), InvalidValueError),
        (ProductChanges(currency="ZZZ"), InvalidValueError),
    ],
)
async def test_update_refuses_invalid_changes_and_changes_nothing(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    stored: Product,
    changes: ProductChanges,
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        await UpdateProduct(uow, POLICY, clock, CATALOG).execute(ADMIN, stored.id, changes)

    assert uow.fake_products.committed == [stored]
    assert uow.committed == 0


# ---------------------------------------------------------------- DeleteProduct


async def test_delete_removes_the_product_and_commits(
    uow: FakeUnitOfWork, stored: Product, clock: FakeClock
) -> None:
    await DeleteProduct(uow, POLICY, clock).execute(ADMIN, stored.id)

    assert uow.fake_products.committed == []
    assert uow.committed == 1


async def test_delete_raises_not_found_for_an_unknown_id(
    uow: FakeUnitOfWork, stored: Product, clock: FakeClock
) -> None:
    with pytest.raises(ProductNotFoundError):
        await DeleteProduct(uow, POLICY, clock).execute(ADMIN, new_id())

    assert uow.fake_products.committed == [stored]
    assert uow.committed == 0


@pytest.mark.parametrize("actor", NON_ADMINS)
async def test_delete_refuses_anyone_but_an_active_admin(
    uow: FakeUnitOfWork, stored: Product, actor: User, clock: FakeClock
) -> None:
    with pytest.raises(AdminRequiredError):
        await DeleteProduct(uow, POLICY, clock).execute(actor, stored.id)

    assert uow.fake_products.committed == [stored]


# ---------------------------------------------------------------- SeedProducts


async def test_seed_stores_every_product_in_committed_batches(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    products = [make_product(name=f"Product {n}") for n in range(2 * BATCH_SIZE + 7)]
    batches: list[int] = []
    seed = SeedProducts(uow, clock)

    assert await seed.is_empty()
    total = await seed.execute(iter(products), on_batch=batches.append)

    assert total == len(products)
    assert batches == [BATCH_SIZE, BATCH_SIZE, 7]
    assert uow.committed == 3
    assert uow.fake_products.committed == sorted(products, key=lambda p: p.id)
    assert not await seed.is_empty()


async def test_seed_of_nothing_commits_nothing(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    assert await SeedProducts(uow, clock).execute([]) == 0
    assert uow.committed == 0


# ---------------------------------------------------------------- the access policy decides

NOBODY = FakeAccessPolicy([])  # a policy with no rule: it lets nobody do anything
USERS_CHANGE_PRODUCTS = FakeAccessPolicy([PolicyRule("user", "product", "*", "all")])


async def test_create_refuses_even_an_admin_when_the_policy_does(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    with pytest.raises(AdminRequiredError):
        await CreateProduct(uow, NOBODY, clock, CATALOG).execute(ADMIN, LAMP)

    assert uow.entered == 0


async def test_update_refuses_even_an_admin_when_the_policy_does(
    uow: FakeUnitOfWork, clock: FakeClock, stored: Product
) -> None:
    with pytest.raises(AdminRequiredError):
        await UpdateProduct(uow, NOBODY, clock, CATALOG).execute(
            ADMIN, stored.id, ProductChanges(name="X")
        )

    assert uow.entered == 0
    assert uow.fake_products.committed == [stored]


async def test_delete_refuses_even_an_admin_when_the_policy_does(
    uow: FakeUnitOfWork, stored: Product, clock: FakeClock
) -> None:
    with pytest.raises(AdminRequiredError):
        await DeleteProduct(uow, NOBODY, clock).execute(ADMIN, stored.id)

    assert uow.entered == 0
    assert uow.fake_products.committed == [stored]


async def test_a_user_the_policy_lets_creates_changes_and_deletes_products(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    user = make_user(role=Role.USER)

    created = await CreateProduct(uow, USERS_CHANGE_PRODUCTS, clock, CATALOG).execute(user, LAMP)
    await UpdateProduct(uow, USERS_CHANGE_PRODUCTS, clock, CATALOG).execute(
        user, created.id, ProductChanges(name="Brighter lamp")
    )
    await DeleteProduct(uow, USERS_CHANGE_PRODUCTS, clock).execute(user, created.id)

    assert uow.committed == 3
    assert uow.fake_products.committed == []
