"""Pure ASGI middleware (no BaseHTTPMiddleware: it buffers and costs a task per request)."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import request_id_var
from app.presentation.api.metrics import HttpMetrics
from app.presentation.api.problem import problem_response

access_logger = logging.getLogger("strata.access")
error_logger = logging.getLogger("strata.errors")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
UNMATCHED_ROUTE = "<unmatched>"


class RequestContextMiddleware:
    """Request id, security headers, one access-log line and the HTTP metrics for every request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id")
        request_id = incoming if incoming and _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = message.setdefault("headers", [])
                headers.append((b"x-request-id", request_id.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            # Rendered here rather than by Starlette's outermost handler, so the 500 still
            # carries the request id. Nothing of the exception reaches the client.
            error_logger.exception("unhandled error", extra={"route": _route_template(scope)})
            if response_started:
                raise
            response = problem_response(
                scope, status=500, code="internal_error", instance=scope["path"]
            )
            await response(scope, receive, send_with_context)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe(scope["method"], route, status, elapsed)
            access_logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 2),
                },
            )
            request_id_var.reset(token)


def _route_template(scope: Scope) -> str:
    # The template (/api/v1/products/{product_id}), never the raw path: bounded label values,
    # and no ids or personal data in logs.
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class BodySizeLimitMiddleware:
    """413 for bodies over `max_bytes`: at once from Content-Length, or as soon as a streamed body
    passes the limit, so an oversized body is never read whole."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        exempt_prefixes: tuple[str, ...] = (),
        *,
        large_body_paths: re.Pattern[str] | None = None,
        large_max_bytes: int = 0,
    ) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.exempt_prefixes = exempt_prefixes
        # Uploads: a larger cap here; the route enforces its exact limit on the file itself.
        self.large_body_paths = large_body_paths
        self.large_max_bytes = large_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        max_bytes = self.default_max_bytes
        if self.large_body_paths is not None and self.large_body_paths.match(scope["path"]):
            max_bytes = self.large_max_bytes
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
            status = 413 if declared.isdigit() else 400
            response = problem_response(
                scope,
                status=status,
                code="request_too_large" if status == 413 else "malformed_request",
                instance=scope["path"],
                params={"limit": max_bytes},
            )
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise HTTPException(status_code=413)
            return message

        await self.app(scope, limited_receive, send)
