"""Every error leaves as `application/problem+json` (RFC 9457), with a stable `code`.

Unexpected exceptions are rendered by `RequestContextMiddleware` (a 500 that still has its request id).

The one table below maps domain error families to HTTP status codes; routers never do.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.core.logging import request_id_var
from app.domain.errors import (
    AuthenticationError,
    ConflictError,
    DomainError,
    InvalidValueError,
    MalformedRequestError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitedError,
    RetryLaterError,
    StoredFileCorruptError,
    UnsupportedMediaTypeError,
    UpstreamError,
    UpstreamTimeoutError,
)
from app.presentation.api.i18n import negotiate_language, translate

PROBLEM_MEDIA_TYPE = "application/problem+json"
DEPENDENCY_RETRY_AFTER_SECONDS = "5"
logger = logging.getLogger("strata.errors")

STATUS_BY_ERROR_FAMILY: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidValueError, 422),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (PreconditionFailedError, 412),
    (MalformedRequestError, 400),
    (PayloadTooLargeError, 413),
    (UnsupportedMediaTypeError, 415),
    (RateLimitedError, 429),
    (RetryLaterError, 503),
    (StoredFileCorruptError, 500),
    (PaymentRequiredError, 402),
    (UpstreamError, 502),
    (UpstreamTimeoutError, 504),
]

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


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str


class Problem(BaseModel):
    """The body of every error response."""

    type: str = Field(examples=["urn:strata:problem:product.not_found"])
    title: str
    status: int
    detail: str
    instance: str
    code: str
    request_id: str | None = None
    errors: list[FieldProblem] | None = None
    decline_code: str | None = Field(
        default=None, description="payments: why the card was declined"
    )
    provider_code: str | None = Field(default=None, description="payments: why Stripe refused")
    setting: str | None = Field(default=None, description="the missing setting, on a 503")


def problem_response(
    request_headers: Any,
    *,
    status: int,
    code: str,
    instance: str,
    params: dict[str, Any] | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response:
    language = negotiate_language(request_headers.get("accept-language"))
    body: dict[str, Any] = {
        "type": f"urn:strata:problem:{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": translate(code, language, params),
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


def status_for(error: DomainError) -> int:
    for family, status in STATUS_BY_ERROR_FAMILY:
        if isinstance(error, family):
            return status
    return 400


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route that can answer these problems."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status in statuses
    }


async def _domain_error(request: Request, exc: DomainError) -> Response:
    status = status_for(exc)
    errors = None
    if isinstance(exc, InvalidValueError):
        errors = [{"field": exc.field, "message": exc.reason, "type": exc.code}]
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RetryLaterError):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return problem_response(
        request.headers,
        status=status,
        code=exc.code,
        instance=request.url.path,
        params=exc.params,
        errors=errors,
        headers=headers,
        extensions={name: exc.params[name] for name in exc.public_params if name in exc.params},
    )


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
            request.headers,
            status=400,
            code="malformed_request",
            instance=request.url.path,
            errors=errors,
        )
    return problem_response(
        request.headers,
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
        request.headers,
        status=503,
        code="service_unavailable",
        instance=request.url.path,
        headers={"Retry-After": DEPENDENCY_RETRY_AFTER_SECONDS},
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    code = _CODE_BY_STATUS.get(exc.status_code, "http_error")
    params = {"limit": request.app.state.settings.max_body_bytes}
    return problem_response(
        request.headers,
        status=exc.status_code,
        code=code,
        instance=request.url.path,
        params=params,
        headers=headers,
    )


def install_problem_handlers(app: FastAPI) -> None:
    handlers: dict[type[Exception], Any] = {
        DomainError: _domain_error,
        RequestValidationError: _validation_error,
        StarletteHTTPException: _http_error,
        # Connection-level database failures (a constraint violation is not one of them).
        sqlalchemy_exc.OperationalError: _dependency_unavailable,
        sqlalchemy_exc.InterfaceError: _dependency_unavailable,
        sqlalchemy_exc.TimeoutError: _dependency_unavailable,
        ConnectionError: _dependency_unavailable,
    }
    for exception_type, handler in handlers.items():
        app.add_exception_handler(exception_type, handler)
