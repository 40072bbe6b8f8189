"""GDPR: the caller's export, and erasure of the account with the trail kept, anonymised."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy import text

from app.infrastructure.database.engine import Database
from tests.conftest import empty_all_tables
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SCRATCH_DIR,
    USER_PASSWORD,
    Headers,
    login,
    make_settings,
    running_client,
)
from tests.e2e.test_product import assert_problem
from tests.e2e.test_session import EMAIL, bearer, log_in, refresh, register

EXPORT = "/api/v1/users/me/export"
ME = "/api/v1/users/me"


async def audit_rows(database_url: str) -> list[dict[str, Any]]:
    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            result = await connection.execute(text("SELECT * FROM audit_events"))
            return [dict(row) for row in result.mappings()]
    finally:
        await database.dispose()


async def test_the_export_holds_the_profile_sessions_and_audit_events_without_secrets(
    client: AsyncClient,
) -> None:
    user = await register(client)
    await client.post("/api/v1/auth/login", data={"username": EMAIL, "password": "wrong password!"})
    tokens = await log_in(client, agent="export-agent")

    response = await client.get(EXPORT, headers=bearer(tokens))

    assert response.status_code == 200, response.text
    export = response.json()
    assert export["profile"]["id"] == user["id"]
    assert export["profile"]["email"] == EMAIL
    assert [s["user_agent"] for s in export["sessions"]] == ["export-agent"]
    actions = sorted((e["action"], e["outcome"]) for e in export["audit_events"])
    assert actions == [("auth.login", "failure"), ("auth.login", "success")]
    for secret in ("password_hash", "refresh_token_hash", "totp_secret", tokens["refresh_token"]):
        assert secret not in response.text


@pytest_asyncio.fixture
async def proxied_client(database_url: str) -> AsyncIterator[AsyncClient]:
    """The app behind a trusted proxy (the test client's address), so callers can differ in IP."""
    settings = make_settings(database_url, trusted_proxies=["127.0.0.1"])
    async with running_client(settings) as client:
        yield client
    await empty_all_tables(database_url)


async def test_the_export_shows_what_others_did_to_the_caller_but_not_who_or_from_where(
    proxied_client: AsyncClient,
) -> None:
    client = proxied_client
    user = await register(client)
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin_id = (await client.get(ME, headers=admin)).json()["id"]
    promoted = await client.patch(
        f"/api/v1/users/{user['id']}",
        json={"role": "admin"},
        headers={**admin, "X-Forwarded-For": "198.51.100.7", "X-Request-ID": "admin-request-1"},
    )
    guess = await client.post(
        "/api/v1/auth/login",
        data={"username": EMAIL, "password": "a guess at the password"},
        headers={"X-Forwarded-For": "203.0.113.66", "X-Request-ID": "guesser-request-1"},
    )
    tokens = await log_in(client)

    response = await client.get(EXPORT, headers={**bearer(tokens), "X-Forwarded-For": "192.0.2.44"})

    assert promoted.status_code == 200, promoted.text
    assert guess.status_code == 401
    events = {(e["action"], e["outcome"]): e for e in response.json()["audit_events"]}
    assert set(events) == {
        ("user.update", "success"),
        ("auth.login", "failure"),
        ("auth.login", "success"),
    }
    by_admin = events["user.update", "success"]
    assert (by_admin["actor_id"], by_admin["ip"], by_admin["request_id"]) == (None, None, None)
    assert by_admin["target_id"] == user["id"]
    assert by_admin["details"]["role"] == "admin"
    assert by_admin["occurred_at"]
    guessed = events["auth.login", "failure"]
    assert (guessed["ip"], guessed["request_id"]) == (None, None)
    own = events["auth.login", "success"]
    assert (own["actor_id"], own["ip"]) == (user["id"], "127.0.0.1")
    for someone_elses in (admin_id, "198.51.100.7", "admin-request-1", "203.0.113.66"):
        assert someone_elses not in response.text
    assert "guesser-request-1" not in response.text


async def test_the_export_needs_a_token(client: AsyncClient) -> None:
    assert_problem(await client.get(EXPORT), 401, "auth.unauthenticated")


async def test_erasure_needs_the_password(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)

    wrong = await client.request(
        "DELETE", ME, json={"password": "not my password"}, headers=bearer(tokens)
    )
    missing = await client.request("DELETE", ME, json={}, headers=bearer(tokens))

    assert_problem(wrong, 403, "auth.wrong_password")
    assert_problem(missing, 422, "validation_error")
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


async def test_erasure_deletes_the_account_and_anonymises_the_trail(
    client: AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    user = await register(client)
    tokens = await log_in(client)
    other = await log_in(client)

    response = await client.request(
        "DELETE", ME, json={"password": USER_PASSWORD}, headers=bearer(tokens)
    )

    assert response.status_code == 204, response.text
    for session in (tokens, other):
        assert_problem(await client.get(ME, headers=bearer(session)), 401, "auth.invalid_token")
        assert_problem(
            await refresh(client, session["refresh_token"]), 401, "auth.invalid_refresh_token"
        )
    relogin = await client.post(
        "/api/v1/auth/login", data={"username": EMAIL, "password": USER_PASSWORD}
    )
    assert_problem(relogin, 401, "auth.invalid_credentials")
    rows = await audit_rows(database_url)
    dump = str(rows).replace("-", "")
    assert user["id"].replace("-", "") not in dump
    assert EMAIL not in dump
    assert [row["action"] for row in rows].count("auth.login") >= 2  # kept, anonymised
    assert any(row["action"] == "user.erase" and row["actor_id"] is None for row in rows)
    users = (await client.get("/api/v1/users", headers=admin_headers)).json()["items"]
    assert EMAIL not in [u["email"] for u in users]
    # The address is free again.
    await register(client)


async def test_export_lists_resources_with_file_metadata_and_erasure_deletes_them(
    client: AsyncClient, admin_headers: Headers
) -> None:
    await register(client)
    tokens = await log_in(client)
    resource = (
        await client.post("/api/v1/resources", json={"name": "Diary"}, headers=bearer(tokens))
    ).json()
    uploaded = (
        await client.post(
            f"/api/v1/resources/{resource['id']}/files",
            files={"file": ("diary.txt", b"dear diary " * 20, "text/plain")},
            headers=bearer(tokens),
        )
    ).json()

    export = (await client.get(EXPORT, headers=bearer(tokens))).json()
    [exported] = export["resources"]
    assert exported["id"] == resource["id"]
    assert [f["sha256"] for f in exported["files"]] == [uploaded["sha256"]]
    stored = list((SCRATCH_DIR / "files").rglob(f"*{uploaded['id'].replace('-', '')}*"))
    assert stored

    erased = await client.request(
        "DELETE", ME, json={"password": USER_PASSWORD}, headers=bearer(tokens)
    )

    assert erased.status_code == 204
    assert not any(path.exists() for path in stored)
    everyone = (await client.get("/api/v1/resources", headers=admin_headers)).json()["items"]
    assert resource["id"] not in [r["id"] for r in everyone]
