"""HTTP methods per path, as RFC 9110 asks: HEAD wherever GET is (§9.1, §9.3.2), and a 405 whose
`Allow` names every method the path serves (§15.5.6).

Starlette's router hands a request whose path matches but whose method does not to the first
route of that path, which answers 405 with its own methods only (`allow: POST` on a path that
also has GET). FastAPI's routes do not serve HEAD. Both are repaired here for every route, by
asking the router itself which methods match a path: routers included in routers count, and so
do two templates matching one path (`/users/me` and `/users/{user_id}`).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.presentation.api.problem import problem_response

# The methods of RFC 9110 and PATCH (RFC 5789), in the order `Allow` lists them.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")


def allowed_methods(router: Router, scope: Scope) -> list[str]:
    """Every method some route serves on the scope's path; HEAD wherever GET is."""
    served = {method for method in METHODS if _serves(router, scope, method)}
    if "GET" in served:
        served.add("HEAD")
    return [method for method in METHODS if method in served]


def _serves(router: Router, scope: Scope, method: str) -> bool:
    probe = {**scope, "method": method}
    return any(route.matches(probe)[0] == Match.FULL for route in router.routes)


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    # Registered for the status 405: the exception's own `Allow` names one route's methods.
    headers = dict(getattr(exc, "headers", None) or {})
    headers["Allow"] = ", ".join(allowed_methods(request.app.router, request.scope))
    return problem_response(
        request.scope,
        status=405,
        code="method_not_allowed",
        instance=request.url.path,
        headers=headers,
    )


class HeadAsGetMiddleware:
    """HEAD on a path served by GET runs the GET and sends its status and headers only."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self._app = app
        self._router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "HEAD"
            and not _serves(self._router, scope, "HEAD")
            and _serves(self._router, scope, "GET")
        ):
            await self._app({**scope, "method": "GET"}, receive, _headers_only(send))
            return
        await self._app(scope, receive, send)


def _headers_only(send: Send) -> Send:
    async def send_headers_only(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return send_headers_only


def install_http_methods(app: FastAPI) -> None:
    app.add_exception_handler(405, _method_not_allowed)
    app.add_middleware(HeadAsGetMiddleware, router=app.router)
