"""The published OpenAPI schema, made to say exactly what the server does (issue 9, item 16).

FastAPI's generated schema is post-processed once per app, from that app's settings:

- every error an operation can send is documented as `application/problem+json` with the `Problem`
  schema: what its route declares, plus what the framework sends for every operation of a kind
  (400 malformed body and 413 too large on every body-taking operation, 422 on every operation
  with an input, 401 on every authenticated one, 429 on every rate-limited one, 503 when the
  database is unavailable); FastAPI's default `HTTPValidationError` 422 is gone;
- a schema node marked `x-strata-categories` gets the `enum` of the configured catalog categories;
- a file download lists the media types that can be sent;
- the headers the server always sends are documented: `Location` on every 201,
  `WWW-Authenticate` on every 401, `Retry-After` on every 429, `Content-Language` on every problem.

PATCH bodies say "optional but not null" in the models themselves (see schemas.common.PatchBody).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.core.config import Settings
from app.infrastructure.adapters.content_type import STORABLE_MEDIA_TYPES
from app.presentation.api.problem import PROBLEM_MEDIA_TYPE

CATEGORIES_MARKER = "x-strata-categories"
DOWNLOAD_OPERATION = ("get", "/api/v1/resources/{resource_id}/files/{file_id}")
_NOT_RATE_LIMITED = ("/health/", "/metrics", "/api/v1/payments/webhook")
_NO_DATABASE = ("/health/live", "/metrics")
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_FRAMEWORK_SCHEMAS = ("HTTPValidationError", "ValidationError")
_STRING = {"type": "string"}
_HEADERS_BY_STATUS = {
    201: {"Location": {"description": "Where the new resource is", "required": True}},
    401: {"WWW-Authenticate": {"description": "`Bearer`", "required": True}},
    429: {"Retry-After": {"description": "Seconds to wait", "required": True}},
}
_PROBLEM_HEADERS = {
    "Content-Language": {"description": "The language of `title` and `detail`", "required": True}
}


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Serve the post-processed schema at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            app.openapi_schema = describe_server(schema, categories=settings.product_categories)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_server(schema: dict[str, Any], *, categories: list[str]) -> dict[str, Any]:
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            _document_problems(path, operation)
            if (method, path) == DOWNLOAD_OPERATION:
                operation["responses"]["200"]["content"] = {
                    media_type: {"schema": {"type": "string", "format": "binary"}}
                    for media_type in sorted(STORABLE_MEDIA_TYPES)
                }
    components = schema.setdefault("components", {}).get("schemas", {})
    for name in _FRAMEWORK_SCHEMAS:
        components.pop(name, None)
    _mark_categories(schema, sorted(categories))
    return schema


def _document_problems(path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    body = operation.get("requestBody")
    statuses: set[int] = {int(status) for status in responses if status.isdigit()}
    if body is not None:
        statuses |= {400, 413, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if operation.get("security"):
        statuses.add(401)
    if path.startswith("/api/") and not path.startswith(_NOT_RATE_LIMITED):
        statuses.add(429)
    if not path.startswith(_NO_DATABASE):
        statuses.add(503)
    for status in sorted(statuses):
        if status < 400:
            continue
        declared = responses.get(str(status), {})
        responses[str(status)] = {
            "description": declared.get("description") or HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}},
            "headers": _headers(_PROBLEM_HEADERS),
        }
    for status, headers in _HEADERS_BY_STATUS.items():
        if str(status) in responses:
            responses[str(status)].setdefault("headers", {}).update(_headers(headers))
    operation["responses"] = dict(sorted(responses.items()))


def _headers(headers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Fresh copies (every response gets its own), each with a string schema."""
    return {name: {**header, "schema": dict(_STRING)} for name, header in headers.items()}


def _mark_categories(node: Any, categories: list[str]) -> None:
    if isinstance(node, dict):
        if node.pop(CATEGORIES_MARKER, False):
            node["enum"] = categories
            for constraint in ("minLength", "maxLength", "pattern"):
                node.pop(constraint, None)
        for value in node.values():
            _mark_categories(value, categories)
    elif isinstance(node, list):
        for value in node:
            _mark_categories(value, categories)
