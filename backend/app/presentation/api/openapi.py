"""The published OpenAPI schema, made to say exactly what the server does (issue 9, item 16).

FastAPI's generated schema is post-processed once per app, from that app's settings:

- every error an operation can send is documented as `application/problem+json` with the `Problem`
  schema: what its route declares, plus what the framework sends for every operation of a kind
  (400 malformed body and 413 too large on every body-taking operation, 422 on every operation
  with an input, 401 on every authenticated one, 429 on every rate-limited one, 503 when the
  database is unavailable); FastAPI's default `HTTPValidationError` 422 is gone;
- a schema node marked `x-strata-enum: <name>` gets the values a feature gives that name (the
  configured product categories, the registered policy object types): see `fill_enum`;
- each feature describes what only it knows (`Feature.describe_openapi`: a download's media types);
- the headers the server always sends are documented: `Location` on every 201,
  `WWW-Authenticate` on every 401, `Retry-After` on every 429, `Content-Language` on every problem.

PATCH bodies say "optional but not null" in the models themselves (see schemas.common.PatchBody).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.core.config import Settings
from app.presentation.api.problem import PROBLEM_MEDIA_TYPE

if TYPE_CHECKING:
    from app.presentation.features.registry import FeatureSet

ENUM_MARKER = "x-strata-enum"
# On an operation (`openapi_extra=`): it answers without the database, so never a 503.
NO_DATABASE = {"x-strata-no-database": True}
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


def install_openapi(app: FastAPI, settings: Settings, features: FeatureSet) -> None:
    """Serve the post-processed schema at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            app.openapi_schema = describe_server(schema, settings, features)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def describe_server(
    schema: dict[str, Any], settings: Settings, features: FeatureSet
) -> dict[str, Any]:
    # Routers outside the per-client rate limit (probes, signed webhooks) never answer 429.
    unlimited = {
        route.path
        for feature in features
        for router in feature.unlimited_routers
        for route in router.routes
        if isinstance(route, APIRoute)
    }
    for path, item in schema.get("paths", {}).items():
        for operation in item.values():
            rate_limited = path.startswith("/api/") and path not in unlimited
            _document_problems(operation, rate_limited=rate_limited)
    components = schema.setdefault("components", {}).get("schemas", {})
    for name in _FRAMEWORK_SCHEMAS:
        components.pop(name, None)
    for feature in features:
        if feature.describe_openapi is not None:
            feature.describe_openapi(schema, settings, features)
    return schema


def enum_marker(name: str) -> dict[str, Any]:
    """`json_schema_extra` for a field whose allowed values each app knows only when it is built
    (the configured categories): `fill_enum` then lists them under `enum`."""
    return {ENUM_MARKER: name}


def fill_enum(node: Any, name: str, values: list[str]) -> None:
    """Every schema node marked `enum_marker(name)` gets `values` as its `enum` (and no longer
    the length and pattern constraints the values make redundant)."""
    if isinstance(node, dict):
        if node.get(ENUM_MARKER) == name:
            del node[ENUM_MARKER]
            node["enum"] = values
            for constraint in ("minLength", "maxLength", "pattern"):
                node.pop(constraint, None)
        for value in node.values():
            fill_enum(value, name, values)
    elif isinstance(node, list):
        for value in node:
            fill_enum(value, name, values)


def _document_problems(operation: dict[str, Any], *, rate_limited: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    body = operation.get("requestBody")
    statuses: set[int] = {int(status) for status in responses if status.isdigit()}
    if body is not None:
        statuses |= {400, 413, 422}
    if operation.get("parameters"):
        statuses.add(422)
    if operation.get("security"):
        statuses.add(401)
    if rate_limited:
        statuses.add(429)
    if not operation.pop(next(iter(NO_DATABASE)), False):
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
