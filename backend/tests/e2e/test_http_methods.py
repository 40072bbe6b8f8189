"""HTTP methods on every path of the app (RFC 9110 §9.1, §9.3.2, §15.5.6): HEAD wherever GET is,
and each 405 names in `Allow` all the methods its path serves, not those of one route."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from fastapi import FastAPI
from httpx import AsyncClient
from starlette.routing import BaseRoute, compile_path

from app.presentation.main import create_app
from tests.e2e.conftest import make_settings, running_client
from tests.e2e.test_product import PRODUCTS, assert_problem

# Every method RFC 9110 and RFC 5789 define: each path is asked the ones it does not serve.
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
SOME_ID = "01900000-0000-7000-8000-000000000000"
_PARAMETER = re.compile(r"{[^}]+}")


def routes_of(routes: Sequence[BaseRoute], prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """(path template, methods) of every route, through the routers the app includes."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            yield from routes_of(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]
        else:
            yield prefix + route.path, set(route.methods or ())  # type: ignore[attr-defined]


def served_methods(app: FastAPI) -> dict[str, set[str]]:
    """Each path of the app (its parameters filled in) and every method some route serves there,
    with HEAD wherever GET is: two templates may match one path (`/users/me`, `/users/{id}`)."""
    templates = list(routes_of(app.routes))
    paths = {_PARAMETER.sub(SOME_ID, template) for template, _ in templates}
    served: dict[str, set[str]] = {}
    for path in paths:
        methods: set[str] = set()
        for template, route_methods in templates:
            regex, _, _ = compile_path(template)
            if regex.match(path):
                methods |= route_methods
        if "GET" in methods:
            methods.add("HEAD")
        served[path] = methods
    return served


async def test_every_405_lists_every_method_its_path_serves(database_url: str) -> None:
    settings = make_settings(database_url)
    served = served_methods(create_app(settings))  # a twin of the app under test, for its routes
    assert len(served) > 30  # the walk did reach into the included routers
    async with running_client(settings) as client:
        wrong: list[str] = []
        for path, methods in sorted(served.items()):
            for method in METHODS:
                if method in methods:
                    continue
                response = await client.request(method, path)
                allow = [m.strip() for m in response.headers.get("allow", "").split(",")]
                if response.status_code != 405 or sorted(allow) != sorted(methods):
                    wrong.append(f"{method} {path}: {response.status_code} allow={allow}")

    assert not wrong, "\n".join(wrong)


async def test_options_on_the_resources_lists_get_and_post(client: AsyncClient) -> None:
    response = await client.options("/api/v1/resources")

    assert_problem(response, 405, "method_not_allowed")
    assert sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD", "POST"]


async def test_head_answers_as_get_would_without_a_body(client: AsyncClient) -> None:
    for path in ("/health/live", PRODUCTS, f"{PRODUCTS}/{SOME_ID}", "/api/v1/users/me"):
        get = await client.get(path)
        head = await client.head(path)

        assert head.status_code == get.status_code, path
        assert head.content == b"", path
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == get.headers["content-length"], path
