"""The name of each request type (one row of the report each), shared by the locustfile and the
report, and which of them are held to the p99 limit."""

from __future__ import annotations

LIST_PRODUCTS = "GET /api/v1/products"
LIST_PRODUCTS_FILTERED = "GET /api/v1/products?category&price_range"
GET_PRODUCT = "GET /api/v1/products/{id}"
SIMILAR_PRODUCTS = "GET /api/v1/products/{id}/similar"
RECOMMEND = "POST /api/v1/products/recommendations"
REGISTER = "POST /api/v1/auth/register"
LOGIN = "POST /api/v1/auth/login"
REFRESH = "POST /api/v1/auth/refresh"
ME = "GET /api/v1/users/me"
SEARCH = "GET /api/v1/search"
PAYMENT_INTENT = "POST /api/v1/payments/intents"
WEBHOOK = "POST /api/v1/payments/webhook"
CREATE_RESOURCE = "POST /api/v1/resources"
UPLOAD = "POST /api/v1/resources/{id}/files"
START_RUN = "POST /api/v1/pipelines/runs"
GET_RUN = "GET /api/v1/pipelines/runs/{run_id}"

# No p99 limit: registration and login hash a password with Argon2id (tens of ms of CPU each, two
# at a time per process by design), and an upload's time is its size and its encryption.
WITHOUT_P99_LIMIT = frozenset({REGISTER, LOGIN, UPLOAD})
