"""What the identity rows need before wrk starts: a user, live sessions and one of their resources.

Built through the public API of the running server, as a client would: register, log in once per
session, create a resource.
"""

from __future__ import annotations

import http.client
import json
import secrets
import urllib.parse
from dataclasses import dataclass
from typing import Any

from bench.config import HOST, BenchError

# More sessions than wrk keeps requests in flight, so that no two of them spend the same token.
REFRESH_SESSIONS_PER_CONNECTION = 2


@dataclass(frozen=True, slots=True)
class IdentityFixture:
    access_token: str
    refresh_tokens: tuple[str, ...]
    resource_id: str


def prepare_identity(port: int, sessions: int) -> IdentityFixture:
    email = f"bench-{secrets.token_hex(6)}@example.com"
    password = "bench " + secrets.token_urlsafe(24)
    call_api(port, "POST", "/api/v1/auth/register", {"email": email, "password": password}, 201)
    pairs = [log_in(port, email, password) for _ in range(sessions)]
    access_token = pairs[-1]["access_token"]
    resource = call_api(
        port,
        "POST",
        "/api/v1/resources",
        {"name": "bench resource", "description": "read by the benchmark"},
        201,
        token=access_token,
    )
    return IdentityFixture(
        access_token=access_token,
        refresh_tokens=tuple(pair["refresh_token"] for pair in pairs[:-1]),
        resource_id=str(resource["id"]),
    )


def log_in(port: int, email: str, password: str) -> dict[str, Any]:
    form = urllib.parse.urlencode({"username": email, "password": password})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    return request_json(port, "POST", "/api/v1/auth/login", form.encode(), headers, 200)


def call_api(
    port: int, method: str, path: str, body: dict[str, Any], expected: int, token: str | None = None
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return request_json(port, method, path, json.dumps(body).encode(), headers, expected)


def request_json(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str], expected: int
) -> dict[str, Any]:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    if response.status != expected:
        raise BenchError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
    result: dict[str, Any] = json.loads(payload)
    return result
