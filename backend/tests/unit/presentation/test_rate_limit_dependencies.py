"""The rate-limit dependencies on their own: which key each one counts, and when none."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from starlette.datastructures import FormData
from starlette.requests import Request

from app.domain.errors import RateLimitedError
from app.infrastructure.adapters.rate_limiter import LimitsRateLimiter
from app.presentation.api.v1.dependencies import rate_limit
from app.presentation.api.v1.dependencies.container import Container


def container(**limits: str) -> Container:
    limiter = LimitsRateLimiter.in_memory(limits)
    return cast(Container, SimpleNamespace(rate_limiter=limiter, trusted_proxies=()))


def request(*, client: tuple[str, int] | None = ("198.51.100.1", 1), **cached: Any) -> Request:
    built = Request({"type": "http", "client": client, "headers": [], "state": {}})
    for name, value in cached.items():  # what FastAPI parsed before the dependencies ran
        setattr(built, name, value)
    return built


async def test_limiter_dependency_hands_out_the_containers_limiter() -> None:
    app = container(api="1/minute")
    assert await rate_limit.get_rate_limiter(app) is app.rate_limiter


async def test_requests_without_an_address_share_one_budget() -> None:
    app = container(login_ip="1/minute")
    limit = rate_limit.LimitLoginIp.dependency
    assert limit is not None
    await limit(request(client=None), app)
    with pytest.raises(RateLimitedError):
        await limit(request(client=None), app)


async def test_mfa_counts_per_token() -> None:
    app = container(mfa="1/minute")
    await rate_limit.limit_mfa(request(_json={"mfa_token": "t1", "code": "123456"}), app)
    await rate_limit.limit_mfa(request(_json={"mfa_token": "t2"}), app)
    with pytest.raises(RateLimitedError):
        await rate_limit.limit_mfa(request(_json={"mfa_token": "t1"}), app)


@pytest.mark.parametrize("body", [{}, {"mfa_token": ""}, {"mfa_token": 7}, ["mfa_token"], None])
async def test_mfa_without_a_token_counts_nothing(body: object) -> None:
    app = container(mfa="1/minute")
    for _ in range(3):  # validation answers 422 for these; the limit stays out of the way
        await rate_limit.limit_mfa(request(_json=body), app)


@pytest.mark.parametrize("username", ["", "   "])
async def test_login_without_a_username_counts_no_account(username: str) -> None:
    app = container(login_account="1/minute")
    for _ in range(3):
        await rate_limit.limit_login_account(request(_form=FormData({"username": username})), app)
