"""Every error leaves as `application/problem+json` (RFC 9457), with a stable `code`.

Unexpected exceptions are rendered by `RequestContextMiddleware` (a 500 that still has its request id).

Error families map to HTTP status codes in one table, never in routers: the families both layers
share (`SHARED_ERROR_STATUSES`), plus any family a feature declares (`merged_error_statuses`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, Final

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sqlalchemy_exc
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import Scope

from app.application.errors import (
    MalformedRequestError,
    PayloadTooLargeError,
    PaymentRequiredError,
    RateLimitedError,
    RetryLaterError,
    StoredDataCorruptError,
    UnsupportedMediaTypeError,
    UpstreamError,
    UpstreamTimeoutError,
)
from app.core.logging import request_id_var
from app.domain.errors import (
    AuthenticationError,
    CodedError,
    ConflictError,
    InvalidValueError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
)
from app.presentation.api.i18n import Translator, negotiate_language, translator_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEPENDENCY_RETRY_AFTER_SECONDS = "5"
logger = logging.getLogger("strata.errors")

# Error family -> status. An error answers with the status of its nearest family (RateLimitedError
# is a RetryLaterError, and answers 429, not 503).
ErrorStatuses = Mapping[type[Exception], int]

SHARED_ERROR_STATUSES: Final[ErrorStatuses] = MappingProxyType(
    {
        NotFoundError: 404,
        ConflictError: 409,
        InvalidValueError: 422,
        AuthenticationError: 401,
        PermissionDeniedError: 403,
        PreconditionFailedError: 412,
        MalformedRequestError: 400,
        PayloadTooLargeError: 413,
        UnsupportedMediaTypeError: 415,
        RateLimitedError: 429,
        RetryLaterError: 503,
        StoredDataCorruptError: 500,
        PaymentRequiredError: 402,
        UpstreamError: 502,
        UpstreamTimeoutError: 504,
    }
)

# Codes for errors raised by the framework itself, by status.
_CODE_BY_STATUS = {
    400: "malformed_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "service_unavailable",
}


def merged_error_statuses(feature_tables: Iterable[ErrorStatuses]) -> dict[type[Exception], int]:
    """The shared families plus every feature's. A family mapped twice is refused: two tables
    would disagree on its status, and which one won would depend on the order of the features."""
    merged = dict(SHARED_ERROR_STATUSES)
    for table in feature_tables:
        for family, status in table.items():
            if family in merged:
                raise ValueError(f"{family.__qualname__} is mapped to a status twice")
            merged[family] = status
    return merged


def status_for(error: Exception, table: ErrorStatuses) -> int:
    """The status of the nearest family of `error` in `table`; LookupError if it has none (an error
    nobody mapped is a bug, never silently a 400)."""
    for family in type(error).__mro__:
        status = table.get(family)
        if status is not None:
            return status
    raise LookupError(f"{type(error).__qualname__} belongs to no family with a status")


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """The body of every error response. Some errors add members of their own (RFC 9457
    extension members); each route's response description names them."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(examples=["urn:strata:problem:product.not_found"])
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def problem_response(
    scope: Scope,
    *,
    status: int,
    code: str,
    instance: str,
    params: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    """The problem answering the request of `scope`, in the language it prefers, with the messages
    of its app's translator."""
    language = negotiate_language(Headers(scope=scope).get("accept-language"))
    body: dict[str, Any] = {
        "type": f"urn:strata:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": translator_of(scope).translate(code, language, params),
        "instance": instance,
        "code": code,
        "request_id": request_id_var.get(),
    }
    if errors is not None:
        body["errors"] = errors
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)  # RFC 9457 extension members; never over a standard one
    response_headers = {"Content-Language": language, **(headers or {})}
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=response_headers,
    )


def problem_responses(
    *statuses: int, members: Mapping[int, Mapping[str, str]] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route that can answer these problems; `members` documents, per
    status, the extension members some of its errors add (name -> what it says)."""
    return {
        status: {
            "model": Problem,
            "description": _description(status, (members or {}).get(status, {})),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


def _description(status: int, members: Mapping[str, str]) -> str:
    described = [f"`{name}`: {meaning}" for name, meaning in members.items()]
    phrase = HTTPStatus(status).phrase
    return f"{phrase}. Extension members: {'; '.join(described)}." if described else phrase


def _coded_error_handler(
    statuses: ErrorStatuses,
) -> Callable[[Request, CodedError], Awaitable[Response]]:
    async def coded_error(request: Request, exc: CodedError) -> Response:
        status = status_for(exc, statuses)
        errors = None
        if isinstance(exc, InvalidValueError):
            errors = [{"field": exc.field, "message": exc.reason, "type": exc.code}]
        headers: dict[str, str] = {}
        if status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, RetryLaterError):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        return problem_response(
            request.scope,
            status=status,
            code=exc.code,
            instance=request.url.path,
            params=exc.params,
            errors=errors,
            headers=headers,
            extensions={name: exc.params[name] for name in exc.public_params if name in exc.params},
        )

    return coded_error


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = [
        {
            "field": ".".join(str(part) for part in error["loc"]),
            "message": str(error["msg"]),
            "type": str(error["type"]),
        }
        for error in exc.errors()
    ]
    # A body that is not JSON at all is malformed (400), not merely invalid.
    if any(error["type"] == "json_invalid" for error in errors):
        return problem_response(
            request.scope,
            status=400,
            code="malformed_request",
            instance=request.url.path,
            errors=errors,
        )
    return problem_response(
        request.scope,
        status=422,
        code="validation_error",
        instance=request.url.path,
        errors=errors,
    )


async def _dependency_unavailable(request: Request, exc: Exception) -> Response:
    # The database is down, unreachable, out of pooled connections or locked past its timeout:
    # the client may retry; nothing about the failure itself is theirs to see.
    logger.warning(
        "database unavailable", extra={"error": type(exc).__name__, "path": request.url.path}
    )
    return problem_response(
        request.scope,
        status=503,
        code="service_unavailable",
        instance=request.url.path,
        headers={"Retry-After": DEPENDENCY_RETRY_AFTER_SECONDS},
    )


async def _database_error(request: Request, exc: Exception) -> Response:
    """A driver error that is not one of the connection-level kinds above: 503 when it lost the
    connection (asyncpg's "connection was closed in the middle of operation" arrives as a plain
    DBAPIError, flagged `connection_invalidated` by SQLAlchemy), otherwise a bug: re-raised, so it
    is logged with its traceback and answered 500."""
    if isinstance(exc, sqlalchemy_exc.DBAPIError) and (
        exc.connection_invalidated or isinstance(exc.orig, (OSError, ConnectionError))
    ):
        return await _dependency_unavailable(request, exc)
    raise exc


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    code = _CODE_BY_STATUS.get(exc.status_code, "http_error")
    params = {"limit": request.app.state.settings.max_body_bytes}
    return problem_response(
        request.scope,
        status=exc.status_code,
        code=code,
        instance=request.url.path,
        params=params,
        headers=headers,
    )


def install_problem_handlers(
    app: FastAPI,
    *,
    error_statuses: ErrorStatuses = SHARED_ERROR_STATUSES,
    translator: Translator | None = None,
) -> None:
    """Answer every error as a problem: coded errors by the family table `error_statuses` (build it
    with `merged_error_statuses`), in the messages of `translator` (kept on `app.state.translator`
    for every problem the app sends; by default the platform's codes only)."""
    app.state.translator = translator or Translator(())
    handlers: dict[type[Exception], Any] = {
        CodedError: _coded_error_handler(error_statuses),
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        # Connection-level database failures (a constraint violation is not one of them).
        sqlalchemy_exc.OperationalError: _dependency_unavailable,
        sqlalchemy_exc.InterfaceError: _dependency_unavailable,
        sqlalchemy_exc.TimeoutError: _dependency_unavailable,
        sqlalchemy_exc.DBAPIError: _database_error,
        ConnectionError: _dependency_unavailable,
    }
    for exception_type, handler in handlers.items():
        app.add_exception_handler(exception_type, handler)
