"""The rate-limit dependencies on their own: which key each one counts, and when none."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest
from starlette.datastructures import FormData
from starlette.requests import Request

from app.application.errors import RateLimitedError
from app.infrastructure.adapters.rate_limiter import LimitsRateLimiter
from app.presentation.api.v1.dependencies import rate_limit
from app.presentation.container import Container


def container(**limits: str) -> Container:
    limiter = LimitsRateLimiter.in_memory(limits)
    return cast(Container, SimpleNamespace(rate_limiter=limiter, trusted_proxies=()))


def request(
    container: Container, *, client: tuple[str, int] | None = ("198.51.100.1", 1), **cached: Any
) -> Request:
    """A request to an app holding `container`, as the dependencies receive it."""
    app = SimpleNamespace(state=SimpleNamespace(container=container))
    built = Request({"type": "http", "app": app, "client": client, "headers": [], "state": {}})
    for name, value in cached.items():  # what FastAPI parsed before the dependencies ran
        setattr(built, name, value)
    return built


async def test_limiter_dependency_hands_out_the_containers_limiter() -> None:
    app = container(api="1/minute")
    assert await rate_limit.get_rate_limiter(request(app)) is app.rate_limiter


async def test_requests_without_an_address_share_one_budget() -> None:
    app = container(login_ip="1/minute")
    limit = rate_limit.LimitLoginIp.dependency
    assert limit is not None
    await limit(request(app, client=None))
    with pytest.raises(RateLimitedError):
        await limit(request(app, client=None))


@pytest.mark.parametrize(
    "spelling",
    [
        "VICTIM@example.org",
        " victim@Example.ORG ",
        "victim@\uff45xample.org",  # a full-width "e"
        "victim@example\u3002org",  # an ideographic full stop
        "victim@EXAMPLE\uff0eorg",  # a full-width full stop
    ],
)
async def test_login_counts_every_spelling_of_an_address_against_one_account(
    spelling: str,
) -> None:
    app = container(login_account="1/minute")
    login = rate_limit.limit_login_account
    await login(request(app, _form=FormData({"username": "victim@example.org"})))
    with pytest.raises(RateLimitedError):
        await login(request(app, _form=FormData({"username": spelling})))
    await login(request(app, _form=FormData({"username": "other@example.org"})))


@pytest.mark.parametrize("username", ["", "   "])
async def test_login_without_a_username_counts_no_account(username: str) -> None:
    app = container(login_account="1/minute")
    for _ in range(3):
        await rate_limit.limit_login_account(request(app, _form=FormData({"username": username})))
