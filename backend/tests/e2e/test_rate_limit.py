"""Rate limits through the real app: each named limit answers 429 + Retry-After, per key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.presentation.main import create_app
from tests.conftest import empty_all_tables
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_settings

ClientFor = Callable[[str], AsyncClient]
PROXY = "10.0.0.2"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


@asynccontextmanager
async def peers(database_url: str, **overrides: Any) -> AsyncIterator[ClientFor]:
    """One running app; `client_for(ip)` is an HTTP client whose TCP peer is `ip`."""
    settings = make_settings(database_url, **{"rate_limit_enabled": True, **overrides})
    app: FastAPI = create_app(settings)
    clients: list[AsyncClient] = []
    async with LifespanManager(app) as manager:

        def client_for(ip: str) -> AsyncClient:
            transport = ASGITransport(app=manager.app, client=(ip, 40_000))
            client = AsyncClient(transport=transport, base_url="http://strata.test")
            clients.append(client)
            return client

        try:
            yield client_for
        finally:
            for client in clients:
                await client.aclose()
    await empty_all_tables(database_url)


def assert_rate_limited(response: Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def bad_login(client: AsyncClient, username: str = ADMIN_EMAIL, **kwargs: Any) -> Response:
    return await client.post(
        LOGIN, data={"username": username, "password": "wrong password"}, **kwargs
    )


async def test_login_per_ip(database_url: str) -> None:
    async with peers(database_url, rate_limit_login_ip="3/minute") as client_for:
        attacker = client_for("198.51.100.1")
        for number in range(3):
            assert (await bad_login(attacker, f"user{number}@example.com")).status_code == 401
        assert_rate_limited(await bad_login(attacker, "user9@example.com"))
        # Another address is unaffected, and can still log in.
        other = client_for("198.51.100.2")
        response = await other.post(
            LOGIN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text


async def test_login_per_account_whatever_the_spelling(database_url: str) -> None:
    async with peers(database_url, rate_limit_login_account="2/minute") as client_for:
        for number, spelling in enumerate(["admin@example.com", " ADMIN@example.com"]):
            response = await bad_login(client_for(f"198.51.100.{number}"), spelling)
            assert response.status_code == 401
        # From a third address: the account's budget is spent.
        assert_rate_limited(await bad_login(client_for("198.51.100.9"), "Admin@Example.com"))
        assert (await bad_login(client_for("198.51.100.9"), "other@example.com")).status_code == 401


async def test_register_per_ip(database_url: str) -> None:
    async with peers(database_url, rate_limit_register_ip="2/minute") as client_for:
        client = client_for("198.51.100.1")
        for number in range(2):
            response = await client.post(
                REGISTER,
                json={"email": f"new{number}@example.com", "password": "a long passphrase 123"},
            )
            assert response.status_code != 429
        assert_rate_limited(
            await client.post(
                REGISTER, json={"email": "new9@example.com", "password": "a long passphrase 123"}
            )
        )


async def test_api_limit_per_ip_and_per_user(database_url: str) -> None:
    async with peers(database_url, rate_limit_api="3/minute") as client_for:
        anonymous = client_for("198.51.100.1")
        for _ in range(3):
            assert (await anonymous.get("/api/v1/products")).status_code == 200
        assert_rate_limited(await anonymous.get("/api/v1/products"))
        # Garbage tokens count against the sender's address, not a fresh budget each.
        garbage = {"Authorization": "Bearer not-a-token"}
        assert_rate_limited(await anonymous.get("/api/v1/products", headers=garbage))
        # Health and metrics are never limited.
        assert (await anonymous.get("/health/live")).status_code == 200

        user_client = client_for("198.51.100.2")
        login = await user_client.post(
            LOGIN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )  # 1st hit on this address
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        # The user's budget follows the token, from any address.
        for number in range(3):
            response = await client_for(f"203.0.113.{number}").get(
                "/api/v1/users/me", headers=headers
            )
            assert response.status_code == 200, response.text
        assert_rate_limited(
            await client_for("203.0.113.9").get("/api/v1/users/me", headers=headers)
        )


async def test_ipv6_clients_share_their_64(database_url: str) -> None:
    async with peers(database_url, rate_limit_login_ip="2/minute") as client_for:
        assert (await bad_login(client_for("2001:db8:1:2::1"))).status_code == 401
        assert (await bad_login(client_for("2001:db8:1:2::ffff"))).status_code == 401
        assert_rate_limited(await bad_login(client_for("2001:db8:1:2:abcd::9")))
        assert (await bad_login(client_for("2001:db8:1:3::1"))).status_code == 401


async def test_forwarded_for_counts_only_from_a_trusted_proxy(database_url: str) -> None:
    async with peers(
        database_url, rate_limit_login_ip="2/minute", trusted_proxies=f"{PROXY}/32"
    ) as client_for:
        spoofer = client_for("198.51.100.1")
        for number in range(2):
            spoofed = {"X-Forwarded-For": f"203.0.113.{number}"}
            assert (await bad_login(spoofer, headers=spoofed)).status_code == 401
        # A fresh spoofed header from an untrusted peer does not buy a fresh budget.
        assert_rate_limited(await bad_login(spoofer, headers={"X-Forwarded-For": "203.0.113.99"}))

        proxy = client_for(PROXY)
        for number in range(2):
            forwarded = {"X-Forwarded-For": "203.0.113.7"}
            assert (await bad_login(proxy, headers=forwarded)).status_code == 401, number
        assert_rate_limited(await bad_login(proxy, headers={"X-Forwarded-For": "203.0.113.7"}))
        # Through the same proxy, another client has its own budget.
        assert (
            await bad_login(proxy, headers={"X-Forwarded-For": "203.0.113.8"})
        ).status_code == 401


async def test_disabled_rate_limits_never_answer_429(database_url: str) -> None:
    async with peers(
        database_url,
        rate_limit_enabled=False,
        rate_limit_login_ip="1/hour",
        rate_limit_login_account="1/hour",
        rate_limit_api="1/hour",
    ) as client_for:
        client = client_for("198.51.100.1")
        for _ in range(5):
            assert (await bad_login(client)).status_code == 401
            assert (await client.get("/api/v1/products")).status_code == 200


async def test_redis_down_answers_503_with_retry_after(database_url: str) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with peers(database_url, redis_url=f"redis://127.0.0.1:{port}/0") as client_for:
        response = await client_for("198.51.100.1").get("/api/v1/products")
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert int(response.headers["retry-after"]) >= 1


async def test_password_forgot_per_ip(database_url: str) -> None:
    async with peers(database_url, rate_limit_forgot_ip="2/minute") as client_for:
        asker = client_for("198.51.100.20")
        for _ in range(2):
            response = await asker.post(
                "/api/v1/auth/password/forgot", json={"email": "x@example.com"}
            )
            assert response.status_code == 202
        assert_rate_limited(
            await asker.post("/api/v1/auth/password/forgot", json={"email": "y@example.com"})
        )
        other = await client_for("198.51.100.21").post(
            "/api/v1/auth/password/forgot", json={"email": "x@example.com"}
        )
        assert other.status_code == 202


async def test_mfa_verify_per_mfa_token(database_url: str) -> None:
    async with peers(database_url, rate_limit_mfa="2/minute") as client_for:
        client = client_for("198.51.100.30")
        for _ in range(2):
            response = await client.post(
                "/api/v1/auth/mfa/verify", json={"mfa_token": "token-one", "code": "123456"}
            )
            assert response.status_code == 401
        assert_rate_limited(
            await client.post(
                "/api/v1/auth/mfa/verify", json={"mfa_token": "token-one", "code": "654321"}
            )
        )
        another_token = await client.post(
            "/api/v1/auth/mfa/verify", json={"mfa_token": "token-two", "code": "123456"}
        )
        assert another_token.status_code == 401
