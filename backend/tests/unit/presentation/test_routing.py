"""The feature router gates itself: it refuses at once only the paths none of its routes could
match, and otherwise answers as a plain `APIRouter` would."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match
from starlette.types import Scope

from app.presentation.api.routing import FeatureRouter, shared_literal_prefix

RouterT = TypeVar("RouterT", bound=APIRouter)

# Each request is asked of gated and plain routers alike: (method, path).
REQUESTS = [
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/"),
    ("GET", "/api/v1/products/recommendations"),
    ("GET", "/api/v1/products/42"),
    ("POST", "/api/v1/products/42"),
    ("GET", "/api/v1/productsx"),
    ("GET", "/api/v1/auth/login"),
    ("GET", "/api/v1/auth/login/"),
    ("GET", "/api/v1/auth/logout"),
    ("GET", "/elsewhere"),
    ("GET", "/a/b/c"),
    ("GET", "/"),
]


def _router(router_class: type[RouterT], prefix: str, *paths: str) -> RouterT:
    router = router_class(prefix=prefix)
    for path in paths:
        router.add_api_route(path, _answering(path), methods=["GET"])
    return router


def _answering(path: str) -> Callable[[], dict[str, str]]:
    def endpoint() -> dict[str, str]:
        return {"path": path}

    return endpoint


def test_the_prefix_stops_at_the_first_parameter() -> None:
    router = _router(FeatureRouter, "/api/v1/products", "", "/{product_id}", "/recommendations")

    assert router.path_prefix == "/api/v1/products"
    assert _router(FeatureRouter, "", "/api/v1/search", "/api/v1/pipelines").path_prefix == (
        "/api/v1/"
    )
    assert _router(FeatureRouter, "", "/{anything}").path_prefix == "/"
    assert FeatureRouter().path_prefix == ""
    assert shared_literal_prefix([]) == ""


def test_a_path_outside_the_prefix_is_refused_without_asking_the_routes() -> None:
    router = _router(FeatureRouter, "/api/v1/products", "/{product_id}")
    asked: list[str] = []
    route = router.routes[0]
    original = route.matches

    def spy(scope: Scope) -> tuple[Match, Scope]:
        asked.append(scope["path"])
        return original(scope)

    route.matches = spy  # type: ignore[method-assign]
    app = FastAPI()
    app.include_router(router)
    app.include_router(_router(FeatureRouter, "/api/v1/resources", "/{resource_id}"))
    client = TestClient(app)

    assert client.get("/api/v1/resources/1").json() == {"path": "/{resource_id}"}
    assert asked == []
    assert client.get("/api/v1/products/7").json() == {"path": "/{product_id}"}
    assert asked  # its own paths reach its routes


def test_feature_routers_answer_as_plain_ones() -> None:
    def app_with(router_class: type[APIRouter]) -> TestClient:
        app = FastAPI()
        for router in (
            _router(router_class, "/api/v1/products", "", "/{product_id}", "/recommendations"),
            _router(router_class, "", "/{anything}"),
            _router(router_class, "/api/v1/auth", "/login"),
        ):
            app.include_router(router)
        return TestClient(app)

    gated, plain = app_with(FeatureRouter), app_with(APIRouter)
    for method, path in REQUESTS:
        expected = plain.request(method, path, follow_redirects=False)
        answer = gated.request(method, path, follow_redirects=False)
        assert (answer.status_code, answer.headers.get("location"), answer.content) == (
            expected.status_code,
            expected.headers.get("location"),
            expected.content,
        ), (method, path)
    assert gated.app.openapi() == plain.app.openapi()  # type: ignore[attr-defined]


def test_a_route_added_after_the_first_request_is_reachable() -> None:
    router = _router(FeatureRouter, "/api/v1", "/products/{product_id}")
    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)
    assert client.get("/api/v1/products/7").status_code == 200  # the prefix is computed here
    assert client.get("/api/v1/search").status_code == 404

    router.add_api_route("/search", _answering("/search"), methods=["GET"])

    assert router.path_prefix == "/api/v1/"
    assert client.get("/api/v1/search").json() == {"path": "/search"}
