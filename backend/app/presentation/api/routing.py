"""The feature router: an `APIRouter` that says "not mine" at once for a path outside the one
prefix all its routes share.

FastAPI matches a request by asking every included router in turn, and each of them asks every one
of its routes: a request for a product was tried against some forty routes of other features
first, each a regular expression and some bookkeeping of FastAPI's (a third of a cached product
read, in its profile). Every feature declares its routers as `FeatureRouter`s, which refuse a path
not starting with the literal text every one of their routes starts with, before asking any route.
The router gates itself rather than being wrapped in a gating router: FastAPI keeps each included
router as a level of its own and redoes the match at every level when it handles the request, so a
wrapper would add a level of matching to every request. It refuses only what could never match, so
the routes, their order, the OpenAPI schema and every answer stay as they were.

A feature router is included without a prefix of its own (`main.py`): its routes carry their full
path, and the gate compares the request's path with theirs.
"""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match
from starlette.types import Scope


class FeatureRouter(APIRouter):
    # (how many routes it was computed from, the prefix): one tuple, so a request never reads the
    # prefix of one list of routes beside the count of another.
    _path_prefix: tuple[int, str] = (0, "")

    @property
    def path_prefix(self) -> str:
        """The text every path this router could match starts with ("" for any path)."""
        counted, prefix = self._path_prefix
        if counted != len(self.routes):
            # Routes are added by decorators once the router exists, even after a first request.
            prefix = shared_literal_prefix(self.routes)
            self._path_prefix = (len(self.routes), prefix)
        return prefix

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
