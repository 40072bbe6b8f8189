"""The real app, on a real migrated database, through httpx's ASGI transport and its lifespan."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest_asyncio
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient

from app.core.config import Settings
from app.presentation.features.registry import FeatureSet
from app.presentation.main import create_app
from tests.conftest import empty_all_tables
from tests.stripe_fake import StripeFake

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
USER_PASSWORD = "a long and unguessable passphrase"
TEST_SECRET_KEY = "test-secret-key-that-is-long-enough-for-hs256-0123456789"

Headers = dict[str, str]
# Mail and stored files of the e2e apps go here, never into the checkout's ./var.
SCRATCH_DIR = Path(tempfile.mkdtemp(prefix="strata-e2e-"))
atexit.register(shutil.rmtree, SCRATCH_DIR, ignore_errors=True)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "secret_key": TEST_SECRET_KEY,
        "first_admin_email": ADMIN_EMAIL,
        "first_admin_password": ADMIN_PASSWORD,
        "log_level": "WARNING",
        # Cheap Argon2 parameters keep the suite fast; production uses OWASP's minimum or more.
        "password_hash_memory_kib": 1024,
        "password_hash_iterations": 1,
        "var_dir": SCRATCH_DIR / "var",
        "mail_dir": SCRATCH_DIR / "mail",
        "storage_dir": SCRATCH_DIR / "files",
        # Tests of rate limiting turn it on; elsewhere it would make test order matter.
        "rate_limit_enabled": False,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def running_client(
    settings: Settings, features: FeatureSet | None = None
) -> AsyncIterator[AsyncClient]:
    """An HTTP client talking to a freshly built app whose lifespan has run."""
    app = create_app(settings, features)
    async with LifespanManager(app) as manager:
        transport = ASGITransport(app=manager.app)
        async with AsyncClient(transport=transport, base_url="http://strata.test") as client:
            yield client


@pytest_asyncio.fixture
async def client(database_url: str) -> AsyncIterator[AsyncClient]:
    async with running_client(make_settings(database_url)) as client:
        yield client
    await empty_all_tables(database_url)


async def login(client: AsyncClient, email: str, password: str) -> Headers:
    response = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest_asyncio.fixture
async def admin_headers(client: AsyncClient) -> Headers:
    return await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest_asyncio.fixture
async def user_headers(client: AsyncClient) -> Headers:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": "reader@example.com", "password": USER_PASSWORD, "full_name": "Ada Reader"},
    )
    assert response.status_code == 201, response.text
    return await login(client, "reader@example.com", USER_PASSWORD)


async def create_product_via_api(
    client: AsyncClient, admin_headers: Headers, **overrides: Any
) -> dict[str, Any]:
    """Create a product through the API as an administrator; any field can be overridden."""
    body = {
        "name": f"Product {uuid4().hex[:8]}",
        "category": "books",
        "price_range": "medium",
        "price_cents": 1999,
        "currency": "USD",
        "description": "",
        **overrides,
    }
    response = await client.post("/api/v1/products", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


CreateProduct = Callable[..., Awaitable[dict[str, Any]]]


@pytest_asyncio.fixture
async def create_product(client: AsyncClient, admin_headers: Headers) -> CreateProduct:
    """`create_product_via_api` on the test's client, as its administrator."""

    async def create(**overrides: Any) -> dict[str, Any]:
        return await create_product_via_api(client, admin_headers, **overrides)

    return create


# ------------------------------------------------------------------ payments (test_payment*.py)


@pytest_asyncio.fixture
async def pay_client(database_url: str, stripe_fake: StripeFake) -> AsyncIterator[AsyncClient]:
    """The app with payments configured against the local Stripe stand-in."""
    from tests.e2e.payments_helpers import payments_client  # it builds on this module

    async with payments_client(database_url, stripe_fake) as client:
        yield client


@pytest_asyncio.fixture
async def alice(pay_client: AsyncClient) -> Headers:
    from tests.e2e.payments_helpers import account

    return await account(pay_client, "alice@example.com")


@pytest_asyncio.fixture
async def bob(pay_client: AsyncClient) -> Headers:
    from tests.e2e.payments_helpers import account

    return await account(pay_client, "bob@example.com")
