"""Administration of accounts through the HTTP API: the user list, role changes and
deactivation (each revokes every session of that user), and the guard against self-lockout."""

from __future__ import annotations

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy import text

from app.infrastructure.database.engine import Database
from tests.e2e.conftest import ADMIN_EMAIL, USER_PASSWORD, Headers
from tests.e2e.test_product import assert_problem
from tests.e2e.test_session import EMAIL, LOGIN, ME, bearer, log_in, refresh, register

USERS = "/api/v1/users"
POLICIES = "/api/v1/admin/policies"


async def test_deactivating_a_user_revokes_their_sessions(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    tokens = await log_in(client)

    response = await client.patch(
        f"{USERS}/{user['id']}", json={"is_active": False}, headers=admin_headers
    )

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.invalid_token")
    assert_problem(
        await refresh(client, tokens["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    relogin = await client.post(LOGIN, data={"username": EMAIL, "password": USER_PASSWORD})
    assert_problem(relogin, 401, "auth.invalid_credentials")


async def test_a_role_change_revokes_sessions_and_takes_effect_at_the_next_login(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    tokens = await log_in(client)

    response = await client.patch(
        f"{USERS}/{user['id']}", json={"role": "admin"}, headers=admin_headers
    )

    assert response.json()["role"] == "admin"
    assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.invalid_token")
    promoted = await log_in(client)
    assert (await client.get(USERS, headers=bearer(promoted))).status_code == 200


async def test_the_policy_decides_who_administers_accounts(
    client: AsyncClient, admin_headers: Headers
) -> None:
    reader = {"role": "user", "object_type": "user", "action": "read", "scope": "all"}
    await register(client)
    tokens = await log_in(client)
    assert_problem(await client.get(USERS, headers=bearer(tokens)), 403, "auth.admin_required")

    granted = await client.post(POLICIES, json=reader, headers=admin_headers)
    listed = await client.get(USERS, headers=bearer(tokens))
    admin_id = next(u["id"] for u in listed.json()["items"] if u["email"] == ADMIN_EMAIL)
    deactivate = await client.patch(
        f"{USERS}/{admin_id}", json={"is_active": False}, headers=bearer(tokens)
    )
    revoked = await client.request("DELETE", POLICIES, json=reader, headers=admin_headers)
    after = await client.get(USERS, headers=bearer(tokens))

    assert granted.status_code == 201, granted.text
    assert listed.status_code == 200, listed.text
    assert_problem(deactivate, 403, "auth.admin_required")  # reading is not changing
    assert revoked.status_code == 204
    assert_problem(after, 403, "auth.admin_required")


async def test_an_admin_cannot_demote_or_deactivate_themselves(
    client: AsyncClient, admin_headers: Headers
) -> None:
    admin_id = (await client.get(ME, headers=admin_headers)).json()["id"]

    for change in ({"role": "user"}, {"is_active": False}):
        response = await client.patch(f"{USERS}/{admin_id}", json=change, headers=admin_headers)
        assert_problem(response, 409, "user.own_access_change")
    assert (await client.get(ME, headers=admin_headers)).json()["role"] == "admin"


async def test_user_administration_is_for_admins_only(client: AsyncClient) -> None:
    user = await register(client)
    tokens = await log_in(client)

    assert_problem(await client.get(USERS, headers=bearer(tokens)), 403, "auth.admin_required")
    response = await client.patch(
        f"{USERS}/{user['id']}", json={"role": "admin"}, headers=bearer(tokens)
    )
    assert_problem(response, 403, "auth.admin_required")
    assert (await client.get(ME, headers=bearer(tokens))).json()["role"] == "user"
    assert_problem(await client.get(USERS), 401, "auth.unauthenticated")


async def test_user_access_updates_are_validated(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    url = f"{USERS}/{user['id']}"
    for body in ({"role": "root"}, {"is_active": "no"}, {"role": None}, {"email": "x@example.com"}):
        assert_problem(
            await client.patch(url, json=body, headers=admin_headers), 422, "validation_error"
        )
    missing = "/api/v1/users/01900000-0000-7000-8000-000000000000"
    assert_problem(
        await client.patch(missing, json={"role": "admin"}, headers=admin_headers),
        404,
        "user.not_found",
    )


async def test_users_are_listed_a_page_at_a_time(
    client: AsyncClient, admin_headers: Headers
) -> None:
    for index in range(3):
        await register(client, f"user{index}@example.com")

    first = (await client.get("/api/v1/users?limit=2", headers=admin_headers)).json()
    second = (
        await client.get(f"{USERS}?limit=2&cursor={first['next_cursor']}", headers=admin_headers)
    ).json()

    emails = [u["email"] for u in first["items"] + second["items"]]
    assert sorted(emails) == sorted([ADMIN_EMAIL, *(f"user{i}@example.com" for i in range(3))])
    assert second["next_cursor"] is None
    assert "password_hash" not in str(first)
    assert_problem(
        await client.get("/api/v1/users?cursor=garbage", headers=admin_headers),
        400,
        "pagination.invalid_cursor",
    )


async def test_reactivating_a_user_lets_them_log_in_again(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    url = f"{USERS}/{user['id']}"
    await client.patch(url, json={"is_active": False}, headers=admin_headers)

    response = await client.patch(url, json={"is_active": True}, headers=admin_headers)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is True
    assert response.json()["version"] == 3
    assert (await client.get(ME, headers=bearer(await log_in(client)))).status_code == 200


async def test_an_update_that_changes_nothing_keeps_the_sessions(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    tokens = await log_in(client)
    url = f"{USERS}/{user['id']}"

    for body in ({}, {"role": "user"}, {"is_active": True}, {"role": "user", "is_active": True}):
        response = await client.patch(url, json=body, headers=admin_headers)
        assert response.status_code == 200, response.text
        assert response.json()["version"] == 1

    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


async def test_an_admin_may_demote_another_admin_whose_sessions_end(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    url = f"{USERS}/{user['id']}"
    await client.patch(url, json={"role": "admin"}, headers=admin_headers)
    other_admin = await log_in(client)

    response = await client.patch(url, json={"role": "user"}, headers=admin_headers)

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "user"
    assert_problem(await client.get(ME, headers=bearer(other_admin)), 401, "auth.invalid_token")
    assert_problem(
        await refresh(client, other_admin["refresh_token"]), 401, "auth.invalid_refresh_token"
    )


async def test_a_demoted_admin_cannot_use_a_refreshed_token_to_administer(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    url = f"{USERS}/{user['id']}"
    await client.patch(url, json={"role": "admin"}, headers=admin_headers)
    tokens = await log_in(client)
    await client.patch(url, json={"role": "user"}, headers=admin_headers)

    assert_problem(
        await refresh(client, tokens["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    demoted = await log_in(client)
    assert_problem(await client.get(USERS, headers=bearer(demoted)), 403, "auth.admin_required")


async def test_the_user_list_page_size_is_bounded(
    client: AsyncClient, admin_headers: Headers
) -> None:
    for limit in ("0", "101", "x"):
        assert_problem(
            await client.get(f"{USERS}?limit={limit}", headers=admin_headers),
            422,
            "validation_error",
        )
    page = (await client.get(f"{USERS}?limit=1", headers=admin_headers)).json()
    assert [u["email"] for u in page["items"]] == [ADMIN_EMAIL]
    assert page["next_cursor"] is None


async def test_access_changes_are_audited_with_the_new_role_and_flag(
    client: AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    user = await register(client)
    await log_in(client)
    admin_id = (await client.get(ME, headers=admin_headers)).json()["id"]
    url = f"{USERS}/{user['id']}"
    await client.patch(url, json={"role": "admin"}, headers=admin_headers)
    await client.patch(url, json={"is_active": False}, headers=admin_headers)

    rows = await audit_rows(database_url, "user.update")

    assert [_details(row) for row in rows] == [
        {"role": "admin", "is_active": "true", "sessions_revoked": "1"},
        {"role": "admin", "is_active": "false", "sessions_revoked": "0"},
    ]
    for row in rows:
        assert _same_id(row["actor_id"], admin_id)
        assert _same_id(row["target_id"], user["id"])
        assert row["outcome"] == "success"
    assert EMAIL not in str(rows)
    assert USER_PASSWORD not in str(rows)


async def audit_rows(database_url: str, action: str) -> list[dict[str, Any]]:
    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            result = await connection.execute(
                text("SELECT * FROM audit_events WHERE action = :action ORDER BY occurred_at, id"),
                {"action": action},
            )
            return [dict(row) for row in result.mappings()]
    finally:
        await database.dispose()


def _details(row: dict[str, Any]) -> Any:
    details = row["details"]
    return json.loads(details) if isinstance(details, str) else details


def _same_id(stored: Any, expected: str) -> bool:
    return str(stored).replace("-", "") == expected.replace("-", "")


async def test_an_access_change_with_a_stale_if_match_is_412_and_revokes_nothing(
    client: AsyncClient, admin_headers: Headers
) -> None:
    user = await register(client)
    tokens = await log_in(client)
    url = f"{USERS}/{user['id']}"

    stale = await client.patch(
        url, json={"is_active": False}, headers={**admin_headers, "If-Match": '"v7"'}
    )
    still_signed_in = await client.get(ME, headers=bearer(tokens))
    current = await client.patch(
        url, json={"role": "admin"}, headers={**admin_headers, "If-Match": '"v1"'}
    )

    assert_problem(stale, 412, "user.version_mismatch")
    assert still_signed_in.status_code == 200
    assert current.status_code == 200, current.text
    assert current.headers["etag"] == '"v2"'
    assert current.json()["is_active"] is True
    assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.invalid_token")
