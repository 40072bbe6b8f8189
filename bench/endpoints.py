"""What is measured: each endpoint, the wrk script that drives it and the target it is held to.

The targets are reported beside the measurements, never asserted.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.config import BIG_PRODUCTS, HEALTH_CONNECTIONS, LOGIN_IN_FLIGHT

ENDPOINT_MAX_P99_MS = 50.0
BIG_RECOMMENDATIONS_MAX_P99_MS = 200.0
LOGIN_MIN_RPS = 20.0
HEALTH_UNDER_LOGIN_MAX_P99_MS = 100.0
MAX_RSS_MIB = 200.0


@dataclass(frozen=True, slots=True)
class Endpoint:
    label: str
    path: str  # the URL wrk is given; product.lua replaces it with rotating product ids
    script: str  # in bench/lua
    min_share: float | None = None  # of the ceiling's req/s
    max_p99_ms: float | None = None
    min_rps: float | None = None


CEILING = Endpoint("GET /ping (bare FastAPI: the ceiling)", "/ping", "get.lua")

# The reads the catalog cache serves: measured with the cache on, then again with it off.
CATALOG_READS = (
    Endpoint(
        "GET /api/v1/products/{id}",
        "/api/v1/products",
        "product.lua",
        min_share=0.25,
        max_p99_ms=ENDPOINT_MAX_P99_MS,
    ),
    Endpoint(
        "GET /api/v1/products?limit=20",
        "/api/v1/products?limit=20",
        "get.lua",
        min_share=0.10,
        max_p99_ms=ENDPOINT_MAX_P99_MS,
    ),
    Endpoint(
        "POST /api/v1/products/recommendations",
        "/api/v1/products/recommendations",
        "recommendations.lua",
        min_share=0.08,
        max_p99_ms=ENDPOINT_MAX_P99_MS,
    ),
)
LOGIN = Endpoint(
    "POST /api/v1/auth/login", "/api/v1/auth/login", "login.lua", min_rps=LOGIN_MIN_RPS
)
ENDPOINTS = (*CATALOG_READS, LOGIN)

# Identity and resources: each request verifies a bearer token (signature, deny-list, session).
REFRESH = Endpoint(
    "POST /api/v1/auth/refresh",
    "/api/v1/auth/refresh",
    "refresh.lua",
    max_p99_ms=ENDPOINT_MAX_P99_MS,
)
RESOURCE_GET = Endpoint(
    "GET /api/v1/resources/{id} (authenticated)",
    "/api/v1/resources/{id}",  # the bench's own resource id is put in at run time
    "authorized_get.lua",
    max_p99_ms=ENDPOINT_MAX_P99_MS,
)

# Payments, against the local Stripe stand-in. Every intent request has its own Idempotency-Key:
# each creates a payment row and calls Stripe (a repeated key would measure the cheap replay).
PAYMENT_INTENT = Endpoint(
    "POST /api/v1/payments/intents (authenticated, unique Idempotency-Key)",
    "/api/v1/payments/intents",
    "payment_intent.lua",
    max_p99_ms=ENDPOINT_MAX_P99_MS,
)
# Signed events, each id sent once, about payments that exist: verified, recorded in the inbox,
# the payment row locked and (after its first events) left unchanged.
WEBHOOK = Endpoint(
    "POST /api/v1/payments/webhook (unique events)",
    "/api/v1/payments/webhook",
    "webhook.lua",
    max_p99_ms=ENDPOINT_MAX_P99_MS,
)
# One event delivered again and again (a redelivery): verified, found in the inbox, nothing more.
WEBHOOK_DUPLICATE = Endpoint(
    "POST /api/v1/payments/webhook (the same event again)",
    "/api/v1/payments/webhook",
    "webhook.lua",
    max_p99_ms=ENDPOINT_MAX_P99_MS,
)

LOGIN_UNDER_LOAD = Endpoint(
    f"POST /api/v1/auth/login ({LOGIN_IN_FLIGHT} in flight)",
    "/api/v1/auth/login",
    "login.lua",
    min_rps=LOGIN_MIN_RPS,
)
HEALTH_BESIDE_LOGIN = Endpoint(
    f"GET /health/live ({HEALTH_CONNECTIONS} connections, beside the logins)",
    "/health/live",
    "get.lua",
    max_p99_ms=HEALTH_UNDER_LOGIN_MAX_P99_MS,
)
BIG_RECOMMENDATIONS = Endpoint(
    f"POST /api/v1/products/recommendations ({BIG_PRODUCTS:,} products)",
    "/api/v1/products/recommendations",
    "recommendations.lua",
    max_p99_ms=BIG_RECOMMENDATIONS_MAX_P99_MS,
)
