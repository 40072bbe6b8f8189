"""What the journey suites (test_*_journey.py, features/*.feature) share: the real app with its
lifespan behind a synchronous client, since pytest-bdd's steps are synchronous functions."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal

from app.core.config import Settings
from tests.conftest import empty_all_tables
from tests.e2e.conftest import USER_PASSWORD, Headers, running_client

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
ME = "/api/v1/users/me"
RESOURCES = "/api/v1/resources"


class App:
    """The running app, called synchronously: each request runs on the portal's event loop."""

    def __init__(self, portal: BlockingPortal, client: httpx.AsyncClient) -> None:
        self.portal = portal
        self._client = client

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self.portal.call(partial(self._client.request, method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    # The few moves nearly every journey makes.

    def register(self, email: str, password: str = USER_PASSWORD) -> dict[str, Any]:
        response = self.post(REGISTER, json={"email": email, "password": password})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def log_in(self, email: str, password: str = USER_PASSWORD) -> Headers:
        response = self.post(LOGIN, data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return bearer(response.json())

    def sign_up(self, email: str) -> Headers:
        self.register(email)
        return self.log_in(email)


def bearer(tokens: dict[str, Any]) -> Headers:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


@contextmanager
def running_app(settings: Settings) -> Iterator[App]:
    """The app on `settings`, its lifespan run; every row it wrote is deleted afterwards."""
    with start_blocking_portal() as portal:
        try:
            with portal.wrap_async_context_manager(running_client(settings)) as client:
                yield App(portal, client)
        finally:
            portal.call(empty_all_tables, settings.database_url)
