"""The prefix gate in front of each feature's router: it refuses only paths no route could match."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from app.presentation.api.routing import PathPrefixGate, shared_literal_prefix


def _router(prefix: str, *paths: str) -> APIRouter:
    router = APIRouter(prefix=prefix)
    for path in paths:
        router.add_api_route(path, _answering(path), methods=["GET"])
    return router


def _answering(path: str) -> Callable[[], dict[str, str]]:
    def endpoint() -> dict[str, str]:
        return {"path": path}

    return endpoint


def test_the_shared_prefix_stops_at_the_first_parameter() -> None:
    router = _router("/api/v1/products", "", "/{product_id}", "/recommendations")

    assert shared_literal_prefix(router.routes) == "/api/v1/products"
    assert shared_literal_prefix(_router("", "/api/v1/search", "/api/v1/pipelines").routes) == (
        "/api/v1/"
    )
    assert shared_literal_prefix(_router("", "/{anything}").routes) == "/"
    assert shared_literal_prefix([]) == ""


def test_a_path_outside_the_prefix_is_refused_without_asking_the_routes() -> None:
    router = _router("/api/v1/products", "/{product_id}")
    asked: list[str] = []
    route = router.routes[0]
    original = route.matches

    def spy(scope: dict) -> tuple[Match, dict]:  # type: ignore[type-arg]
        asked.append(scope["path"])
        return original(scope)

    route.matches = spy  # type: ignore[method-assign]
    app = FastAPI()
    app.include_router(PathPrefixGate(router))
    app.include_router(PathPrefixGate(_router("/api/v1/resources", "/{resource_id}")))
    client = TestClient(app)

    assert client.get("/api/v1/resources/1").json() == {"path": "/{resource_id}"}
    assert asked == []
    assert client.get("/api/v1/products/7").json() == {"path": "/{product_id}"}
    assert asked  # its own paths reach its routes


def test_gated_routers_answer_as_ungated_ones() -> None:
    def app_with(gated: bool) -> TestClient:
        app = FastAPI()
        for router in (
            _router("/api/v1/products", "", "/{product_id}", "/recommendations"),
            _router("", "/{anything}"),
            _router("/api/v1/auth", "/login"),
        ):
            app.include_router(PathPrefixGate(router) if gated else router)
        return TestClient(app)

    gated, plain = app_with(True), app_with(False)
    for method, path in [
        ("GET", "/api/v1/products"),
        ("GET", "/api/v1/products/"),
        ("GET", "/api/v1/products/recommendations"),
        ("GET", "/api/v1/products/42"),
        ("POST", "/api/v1/products/42"),
        ("GET", "/api/v1/auth/login"),
        ("GET", "/api/v1/auth/logout"),
        ("GET", "/elsewhere"),
        ("GET", "/a/b/c"),
    ]:
        expected = plain.request(method, path, follow_redirects=False)
        answer = gated.request(method, path, follow_redirects=False)
        assert (answer.status_code, answer.content) == (expected.status_code, expected.content), (
            method,
            path,
        )
    assert gated.app.openapi() == plain.app.openapi()  # type: ignore[attr-defined]
