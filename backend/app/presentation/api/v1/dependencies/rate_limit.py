"""Rate-limit dependencies: one limiter (built in the container), ready-made route dependencies.

Routes declare them in their decorator, which runs them before the body's own parameters:

    @router.post("/login", dependencies=[LimitLoginIp, LimitLoginAccount])

or take the limiter to count against a key of their own. The per-account budgets (a password or
code checked, an MFA login code tried) are counted through `RateLimitedCredentialAttempts`, keyed
on the normalised address or the user id, never on a spelling the client chose.
Every one raises `RateLimitedError` (429 + Retry-After), or `DependencyUnavailableError` (503 +
Retry-After) when Redis cannot answer: rate limiting fails closed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security.utils import get_authorization_scheme_param

from app.domain.entities.session import InvalidTokenError
from app.infrastructure.adapters.rate_limiter import (
    LimitsRateLimiter,
    RateLimitedCredentialAttempts,
)
from app.presentation.api.client_ip import client_ip
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import container_of
from app.presentation.container import Container

# The limit names, as in the settings RATE_LIMIT_<NAME> (the per-account ones, login_account and
# mfa, live in rate_limiter.py with their keys).
LOGIN_IP = "login_ip"
REGISTER_IP = "register_ip"
FORGOT_IP = "forgot_ip"
API = "api"

# Requests without a peer address (a Unix socket without a proxy header) share one budget.
UNKNOWN_CLIENT = "unknown"
IPV6_CLIENT_PREFIX = 64


async def get_rate_limiter(request: Request) -> LimitsRateLimiter:
    return container_of(request).rate_limiter


RateLimiterDep = Annotated[LimitsRateLimiter, Depends(get_rate_limiter)]


def credential_attempts(container: Container) -> RateLimitedCredentialAttempts:
    return RateLimitedCredentialAttempts(container.rate_limiter)


def _ip_key(request: Request, container: Container) -> str:
    address = client_ip(request, container.trusted_proxies)
    if address is None:
        return UNKNOWN_CLIENT
    if ":" in address:
        # Every IPv6 subscriber holds at least a /64 and picks addresses in it at will: counting
        # per address would give one client 2^64 budgets.
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return address


def _limit_per_ip(limit_name: str) -> Callable[[Request], Awaitable[None]]:
    async def limit_per_ip(request: Request) -> None:
        container = container_of(request)
        await container.rate_limiter.hit(limit_name, _ip_key(request, container))

    limit_per_ip.__name__ = f"limit_{limit_name}"
    return limit_per_ip


async def limit_login_account(request: Request) -> None:
    # FastAPI parsed the form before running dependencies; Starlette hands back the same object.
    # (A body that is no form reads as an empty one: nothing is counted, validation answers 422.)
    username = (await request.form()).get("username")
    if isinstance(username, str) and username.strip():
        await credential_attempts(container_of(request)).password_or_code(username)


async def limit_api(request: Request) -> None:
    """Per user for a valid bearer token, per client address otherwise.

    The token is verified (a signature check, no database): keying on the raw token would give
    every garbage token a fresh budget, so a flood of them would be free. An invalid token counts
    against its sender's address instead, and the route answers it 401 as usual.
    """
    container = container_of(request)
    if not container.rate_limiter.enabled:
        return
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    if scheme.lower() == "bearer" and token:
        try:
            subject = container.access_tokens.verify(token).subject
        except InvalidTokenError:
            pass
        else:
            await container.rate_limiter.hit(API, f"user:{subject}")
            return
    await container.rate_limiter.hit(API, f"ip:{_ip_key(request, container)}")


# For `dependencies=[...]` in route decorators (and `include_router`).
LimitLoginIp = Depends(_limit_per_ip(LOGIN_IP))
LimitRegisterIp = Depends(_limit_per_ip(REGISTER_IP))
LimitForgotIp = Depends(_limit_per_ip(FORGOT_IP))
LimitLoginAccount = Depends(limit_login_account)
LimitApi = Depends(limit_api)


async def limit_password_check(user: CurrentUser, request: Request) -> None:
    """Routes that check the caller's password or a code count against that account's login
    budget: a stolen access token must not buy an unlimited run of guesses."""
    await credential_attempts(container_of(request)).password_or_code(user.email)


# For `dependencies=[...]`: after authentication, before the body is checked.
LimitPasswordCheck = Depends(limit_password_check)
