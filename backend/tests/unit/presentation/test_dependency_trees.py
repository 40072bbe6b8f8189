"""Every route's dependencies stay a shallow tree: FastAPI resolves each node on every request
(about 20 µs each in the bench's profiles), so a use case's provider is one node that builds what it
needs from the container (see `dependencies/common.py`), and only the caller's authentication nests
(the bearer scheme under the caller, the caller under the current user) and what must run on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.presentation.api.v1.dependencies import caller, rate_limit
from app.presentation.api.v1.routers import pipeline
from app.presentation.features.enabled import ENABLED_FEATURES
from app.presentation.features.registry import FeatureSet

# What may have dependencies of its own: who is calling (and the budget counted against them), and
# the event stream's check, which must refuse before the stream starts.
NESTING_ALLOWED = {
    caller.get_caller,
    caller.get_current_user,
    rate_limit.limit_password_check,
    pipeline.authorized_follower,
}


def _routes() -> Iterator[APIRoute]:
    features = FeatureSet.load(ENABLED_FEATURES)
    for feature in features:
        for router in [*feature.unlimited_routers, *feature.built_routers(features)]:
            yield from (route for route in router.routes if isinstance(route, APIRoute))


def _nodes(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _nodes(sub)


ROUTES = list(_routes())


def test_every_enabled_route_is_checked() -> None:
    assert len(ROUTES) > 40


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{sorted(route.methods)} {route.path}")
def test_only_the_callers_authentication_nests(route: APIRoute) -> None:
    nesting = [
        node.call
        for node in _nodes(route.dependant)
        if node.dependencies and node.call not in NESTING_ALLOWED
    ]
    assert nesting == [], f"providers with dependencies of their own: {nesting}"
