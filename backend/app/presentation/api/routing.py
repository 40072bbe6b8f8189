"""Routers that say "not mine" at once for a path outside the one prefix all their routes share.

FastAPI matches a request by asking every included router in turn, and each of them asks every one
of its routes: a request for a product was tried against some forty routes of other features
first, each a regular expression and some bookkeeping of FastAPI's (a third of a cached product
read, in its profile). Each feature's router is included behind a `PathPrefixGate`: a router with no
routes of its own, holding the feature's router, that refuses a path not starting with the literal
text every route of that router starts with. It refuses only what could never match, so the
routes, their order, the OpenAPI schema and every answer stay as they were.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


class PathPrefixGate(APIRouter):
    def __init__(self, router: APIRouter) -> None:
        super().__init__()
        self.path_prefix = shared_literal_prefix(router.routes)
        self.include_router(router)

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if not get_route_path(scope).startswith(self.path_prefix):
            return Match.NONE, {}
        return super().matches(scope)


def shared_literal_prefix(routes: list[BaseRoute]) -> str:
    """The text every route's path starts with before its first parameter ("" for none)."""
    literals = [str(getattr(route, "path", "")).split("{", 1)[0] for route in routes]
    # Character by character on purpose: a prefix ending inside a segment still refuses only
    # paths that no route could match.
    return os.path.commonprefix(literals) if literals else ""  # noqa: RUF071
