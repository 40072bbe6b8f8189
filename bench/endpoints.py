"""What is measured: each endpoint, the wrk script that drives it and the target it is held to.

The targets are reported beside the measurements, never asserted.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bench.config import BIG_PRODUCTS, HEALTH_CONNECTIONS

# Every row at BENCH_CONNECTIONS (32) except login: the tail within a few medians.
MAX_P99_OVER_P50 = 3.0
# Every row except login measured again at BENCH_LOW_CONNECTIONS (4): a server not saturated.
LOW_CONNECTIONS_MAX_P99_MS = 10.0
BIG_RECOMMENDATIONS_MAX_P99_MS = 200.0
# Logins per second against bare Argon2id verifications, as many at once, at the same cost.
LOGIN_MIN_SHARE_OF_BARE_HASHES = 0.90
HEALTH_UNDER_LOGIN_MAX_P99_MS = 25.0
MAX_RSS_MIB = 160.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    label: str
    path: str  # the URL wrk is given; product.lua replaces it with rotating product ids
    script: str  # in bench/lua
    min_share: float | None = None  # of the ceiling's req/s
    max_p99_ms: float | None = None
    max_p99_over_p50: float | None = None
    min_share_of_bare_hashes: float | None = None  # login: of bare Argon2id verifications/s
    no_timeouts: bool = False  # a wrk timeout fails a check of its own (login)


def at_low_connections(endpoint: Endpoint) -> Endpoint:
    """The same endpoint measured again at low connections: held to its p99 alone."""
    return dataclasses.replace(
        endpoint,
        min_share=None,
        max_p99_ms=LOW_CONNECTIONS_MAX_P99_MS,
        max_p99_over_p50=None,
    )


CEILING = Endpoint("GET /ping (bare FastAPI: the ceiling)", "/ping", "get.lua")


def _catalog_reads(product: float, listing: float, recommendations: float) -> tuple[Endpoint, ...]:
    return (
        Endpoint(
            "GET /api/v1/products/{id}",
            "/api/v1/products",
            "product.lua",
            min_share=product,
            max_p99_over_p50=MAX_P99_OVER_P50,
        ),
        Endpoint(
            "GET /api/v1/products?limit=20",
            "/api/v1/products?limit=20",
            "get.lua",
            min_share=listing,
            max_p99_over_p50=MAX_P99_OVER_P50,
        ),
        Endpoint(
            "POST /api/v1/products/recommendations",
            "/api/v1/products/recommendations",
            "recommendations.lua",
            min_share=recommendations,
            max_p99_over_p50=MAX_P99_OVER_P50,
        ),
    )


# The reads the catalog cache serves: measured with the cache on (the default configuration), then
# again with it off, each with targets of its own (the cache-on bar never below the cache-off one).
CATALOG_READS = _catalog_reads(product=0.50, listing=0.15, recommendations=0.15)
CATALOG_READS_UNCACHED = _catalog_reads(product=0.25, listing=0.15, recommendations=0.15)

# Identity and resources: each request verifies a bearer token (signature, deny-list, session).
REFRESH = Endpoint(
    "POST /api/v1/auth/refresh",
    "/api/v1/auth/refresh",
    "refresh.lua",
    min_share=0.15,
    max_p99_over_p50=MAX_P99_OVER_P50,
)
RESOURCE_GET = Endpoint(
    "GET /api/v1/resources/{id} (authenticated)",
    "/api/v1/resources/{id}",  # the bench's own resource id is put in at run time
    "authorized_get.lua",
    min_share=0.25,
    max_p99_over_p50=MAX_P99_OVER_P50,
)

# Payments, against the local Stripe stand-in. Every intent request has its own Idempotency-Key:
# each creates a payment row and calls Stripe (a repeated key would measure the cheap replay).
PAYMENT_INTENT = Endpoint(
    "POST /api/v1/payments/intents (authenticated, unique Idempotency-Key)",
    "/api/v1/payments/intents",
    "payment_intent.lua",
    min_share=0.07,
    max_p99_over_p50=MAX_P99_OVER_P50,
)
# Signed events, each id sent once, about payments that exist: verified, recorded in the inbox,
# the payment row locked and (after its first events) left unchanged.
WEBHOOK = Endpoint(
    "POST /api/v1/payments/webhook (unique events)",
    "/api/v1/payments/webhook",
    "webhook.lua",
    min_share=0.20,
    max_p99_over_p50=MAX_P99_OVER_P50,
)
# One event delivered again and again (a redelivery): verified, found in the inbox, nothing more.
WEBHOOK_DUPLICATE = Endpoint(
    "POST /api/v1/payments/webhook (the same event again)",
    "/api/v1/payments/webhook",
    "webhook.lua",
    max_p99_over_p50=MAX_P99_OVER_P50,
)


def login_endpoint(in_flight: int) -> Endpoint:
    """Form login of the admin with `in_flight` logins at once. No p99 target: its latency is the
    queue behind the hashes (two at a time), by design."""
    return Endpoint(
        f"POST /api/v1/auth/login ({in_flight} in flight)",
        "/api/v1/auth/login",
        "login.lua",
        min_share_of_bare_hashes=LOGIN_MIN_SHARE_OF_BARE_HASHES,
        no_timeouts=True,
    )


# Kept for scripts that drive one login row (bench/profile.py).
LOGIN = login_endpoint(32)


def health_beside_login(in_flight: int) -> Endpoint:
    """/health/live asked by a second wrk while `in_flight` logins run: is the event loop free?

    Paced (paced_get.lua: each connection waits 10 ms between requests, ~400 req/s at most): a
    probe asked as fast as wrk can took a whole core (over 4,000 req/s) from the logins it was
    watching, and cut SQLite logins from ~60/s to ~14/s in a measurement of its own."""
    return Endpoint(
        f"GET /health/live ({HEALTH_CONNECTIONS} connections, paced, beside {in_flight} logins)",
        "/health/live",
        "paced_get.lua",
        max_p99_ms=HEALTH_UNDER_LOGIN_MAX_P99_MS,
    )


BIG_RECOMMENDATIONS = Endpoint(
    f"POST /api/v1/products/recommendations ({BIG_PRODUCTS:,} products)",
    "/api/v1/products/recommendations",
    "recommendations.lua",
    max_p99_ms=BIG_RECOMMENDATIONS_MAX_P99_MS,
    max_p99_over_p50=MAX_P99_OVER_P50,
)
