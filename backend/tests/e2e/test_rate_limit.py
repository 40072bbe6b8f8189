"""Rate limits through the real app: each named limit answers 429 + Retry-After, per key."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pyotp
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from app.presentation.main import create_app
from tests.conftest import empty_all_tables
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, USER_PASSWORD, make_settings

ClientFor = Callable[[str], AsyncClient]
PROXY = "10.0.0.2"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
VERIFY = "/api/v1/auth/mfa/verify"


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


async def enable_mfa_for(client: AsyncClient, email: str) -> pyotp.TOTP:
    """Registers `email` with MFA on; answers its TOTP."""
    registered = await client.post(REGISTER, json={"email": email, "password": USER_PASSWORD})
    assert registered.status_code == 201, registered.text
    login = await client.post(LOGIN, data={"username": email, "password": USER_PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    setup = await client.post("/api/v1/auth/mfa/setup", headers=headers)
    totp = pyotp.TOTP(setup.json()["secret"])
    enabled = await client.post(
        "/api/v1/auth/mfa/enable", json={"code": totp.now()}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    return totp


async def mfa_token_for(client: AsyncClient, email: str) -> str:
    login = await client.post(LOGIN, data={"username": email, "password": USER_PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["mfa_token"])


async def test_mfa_verify_per_account_whatever_the_token(database_url: str) -> None:
    async with peers(
        database_url, rate_limit_mfa="3/minute", rate_limit_login_account="100/minute"
    ) as client_for:
        client = client_for("198.51.100.30")
        await enable_mfa_for(client, "victim@example.com")
        await enable_mfa_for(client, "bystander@example.com")
        first = await mfa_token_for(client, "victim@example.com")
        fresh = await mfa_token_for(client, "victim@example.com")
        # The same token padded (base64 allows it) and a fresh login's token: one budget. A
        # spelling the token check refuses checks no code and counts nothing.
        answers = []
        for number, spelling in enumerate([first, first + "=", first + "==", fresh, fresh + "="]):
            response = await client_for(f"198.51.100.{30 + number}").post(
                VERIFY, json={"mfa_token": spelling, "code": "000000"}
            )
            answers.append(response.json()["code"])
        assert answers.count("auth.invalid_mfa_code") == 3, answers
        assert "rate_limited" in answers, answers
        assert "auth.invalid_mfa_code" not in answers[answers.index("rate_limited") :], answers
        # Another account keeps its own budget.
        other = await mfa_token_for(client, "bystander@example.com")
        response = await client.post(VERIFY, json={"mfa_token": other, "code": "000000"})
        assert response.status_code == 401, response.text


async def test_mfa_verify_garbage_tokens_are_refused_without_a_budget(database_url: str) -> None:
    async with peers(database_url, rate_limit_mfa="1/minute") as client_for:
        client = client_for("198.51.100.32")
        for number in range(3):  # no code is checked for them: nothing to guess
            response = await client.post(
                VERIFY, json={"mfa_token": f"token-{number}", "code": "123456"}
            )
            assert response.status_code == 401, response.text
            assert response.json()["code"] == "auth.invalid_token"


async def test_login_per_account_whatever_the_internationalised_spelling(
    database_url: str,
) -> None:
    async with peers(database_url, rate_limit_login_account="3/minute") as client_for:
        # Full-width letters and an ideographic full stop name the same account: they log in.
        login = await client_for("198.51.100.40").post(
            LOGIN, data={"username": "admin@\uff45xample.com", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        for number, spelling in enumerate(["admin@example\u3002com", "ADMIN@EXAMPLE\uff0eCOM"]):
            response = await bad_login(client_for(f"198.51.100.{41 + number}"), spelling)
            assert response.status_code == 401, response.text
        assert_rate_limited(await bad_login(client_for("198.51.100.49"), ADMIN_EMAIL))


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize(
    ("path", "content", "content_type"),
    [
        (VERIFY, b"", None),
        (VERIFY, b"", "application/json"),
        (VERIFY, b"{not json", "application/json"),
        (VERIFY, b"mfa_token=abc&code=123456", "application/x-www-form-urlencoded"),
        (VERIFY, b"mfa_token abc", "text/plain"),
        (VERIFY, b"\xff\xfe", "application/json"),
        (VERIFY, b"[]", "application/json"),
        (VERIFY, b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (LOGIN, b"", None),
        (LOGIN, b'{"username": "admin@example.com", "password": "x"}', "application/json"),
        (LOGIN, b"username=admin", "text/plain"),
        (LOGIN, b"--x\r\nbroken", "multipart/form-data; boundary=x"),
        (LOGIN, b"username=%ff&password=%fe", "application/x-www-form-urlencoded"),
    ],
)
async def test_bodies_that_are_not_what_a_route_reads_are_4xx_never_500(
    database_url: str, enabled: bool, path: str, content: bytes, content_type: str | None
) -> None:
    async with peers(database_url, rate_limit_enabled=enabled) as client_for:
        headers = {"Content-Type": content_type} if content_type else {}
        response = await client_for("198.51.100.50").post(path, content=content, headers=headers)
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
