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
        request_id = _request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        response = _WatchedResponse(send, request_id)
        try:
            await self.app(scope, receive, response.send)
        except Exception:
            # Rendered here rather than by Starlette's outermost handler, so the 500 still
            # carries the request id. Nothing of the exception reaches the client.
            error_logger.exception("unhandled error", extra={"route": _route_template(scope)})
            if response.started:
                raise
            problem = problem_response(
                scope, status=500, code="internal_error", instance=scope["path"]
            )
            await problem(scope, receive, response.send)
        finally:
            self._record(scope, request_id, response.status, time.perf_counter() - started)
            request_id_var.reset(token)

    def _record(self, scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        """The request's metrics and its access-log line."""
        route = _route_template(scope)
        self.metrics.observe(scope["method"], route, status, elapsed)
        if not access_logger.isEnabledFor(logging.INFO):
            return  # (production logs at WARNING: skip building a line nobody writes)
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


class _WatchedResponse:
    """Sends the app's response on, with the request id and security headers, and remembers its
    status (500 until the response starts: an app that fails first has answered nothing)."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._request_id = request_id
        self.status = 500
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.started = True
            headers = message.setdefault("headers", [])
            headers.append((b"x-request-id", self._request_id.encode()))
            headers.append((b"x-content-type-options", b"nosniff"))
        await self._send(message)


def _request_id(scope: Scope) -> str:
    """The caller's X-Request-ID if it is sane, else a new one."""
    incoming = Headers(scope=scope).get("x-request-id")
    return incoming if incoming and _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex


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
        max_bytes = self._limit_for(scope["path"])
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

    def _limit_for(self, path: str) -> int:
        if self.large_body_paths is not None and self.large_body_paths.match(path):
            return self.large_max_bytes
        return self.default_max_bytes
