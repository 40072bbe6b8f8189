from __future__ import annotations

import asyncio
from typing import Any

import pytest
from httpx import AsyncClient

from tests.e2e.conftest import USER_PASSWORD, Headers
from tests.e2e.test_product import assert_problem
from tests.e2e.test_session import LOGIN, ME, bearer, log_in, register


async def test_me_returns_the_caller_without_secrets(
    client: AsyncClient, user_headers: Headers
) -> None:
    response = await client.get("/api/v1/users/me", headers=user_headers)
    assert response.status_code == 200
    me = response.json()
    assert me["email"] == "reader@example.com"
    assert me["full_name"] == "Ada Reader"
    assert me["role"] == "user"
    assert me["is_active"] is True
    assert set(me) == {
        "id",
        "email",
        "full_name",
        "role",
        "is_active",
        "email_verified",
        "mfa_enabled",
        "version",
        "created_at",
        "updated_at",
    }


async def test_users_change_their_own_name_and_nothing_else(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)

    renamed = await client.patch(ME, json={"full_name": "  Ada Lovelace "}, headers=bearer(tokens))

    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["full_name"] == "Ada Lovelace"
    assert renamed.json()["version"] == 2
    for body in (
        {"role": "admin"},
        {"email": "x@example.com"},
        {"full_name": "a\u0000b"},
        {"full_name": None},
    ):
        assert_problem(
            await client.patch(ME, json=body, headers=bearer(tokens)), 422, "validation_error"
        )
    assert (await client.get(ME, headers=bearer(tokens))).json()["role"] == "user"


async def test_me_sends_an_etag_and_honours_if_none_match(
    client: AsyncClient, user_headers: Headers
) -> None:
    first = await client.get(ME, headers=user_headers)
    etag = first.headers["etag"]

    cached = await client.get(ME, headers={**user_headers, "If-None-Match": etag})
    stale = await client.get(ME, headers={**user_headers, "If-None-Match": '"v999"'})

    assert etag == f'"v{first.json()["version"]}"'
    assert cached.status_code == 304
    assert cached.headers["etag"] == etag
    assert cached.content == b""
    assert stale.status_code == 200


async def test_renaming_with_a_stale_if_match_is_412_and_changes_nothing(
    client: AsyncClient,
) -> None:
    await register(client)
    headers = bearer(await log_in(client))
    etag = (await client.get(ME, headers=headers)).headers["etag"]
    renamed = await client.patch(
        ME, json={"full_name": "Ada"}, headers={**headers, "If-Match": etag}
    )

    for if_match in (etag, f"W/{renamed.headers['etag']}", "garbage"):
        stale = await client.patch(
            ME, json={"full_name": "Eve"}, headers={**headers, "If-Match": if_match}
        )
        assert_problem(stale, 412, "user.version_mismatch")

    assert renamed.status_code == 200, renamed.text
    assert renamed.headers["etag"] == '"v2"'
    assert (await client.get(ME, headers=headers)).json()["full_name"] == "Ada"
    empty = await client.patch(ME, json={}, headers={**headers, "If-Match": '"v2"'})
    assert (empty.status_code, empty.json()["full_name"]) == (200, "Ada")
    cleared = await client.patch(ME, json={"full_name": "  "}, headers=headers)
    assert (cleared.json()["full_name"], cleared.json()["version"]) == (None, 3)


REGISTER = "/api/v1/auth/register"


async def post_registration(client: AsyncClient, **overrides: Any) -> Any:
    body = {"email": "grace@example.com", "password": USER_PASSWORD, **overrides}
    return await client.post(REGISTER, json=body)


async def test_register_creates_a_user_with_the_user_role(client: AsyncClient) -> None:
    response = await post_registration(
        client, email="  Grace@Example.COM ", full_name="Grace Hopper"
    )
    assert response.status_code == 201, response.text
    user = response.json()
    assert user["email"] == "grace@example.com"
    assert user["role"] == "user"
    assert user["full_name"] == "Grace Hopper"
    assert "password" not in response.text
    assert "password_hash" not in user
    assert response.headers["location"] == ME


async def test_a_role_in_the_registration_body_is_refused_and_grants_nothing(
    client: AsyncClient,
) -> None:
    response = await post_registration(client, role="admin")
    assert_problem(response, 422, "validation_error")
    login = await client.post(
        LOGIN, data={"username": "grace@example.com", "password": USER_PASSWORD}
    )
    assert_problem(login, 401, "auth.invalid_credentials")


async def test_duplicate_email_is_409_whatever_its_case(client: AsyncClient) -> None:
    assert (await post_registration(client)).status_code == 201
    assert_problem(
        await post_registration(client, email="GRACE@example.com"), 409, "user.email_taken"
    )


async def test_concurrent_registrations_of_one_email_create_one_account(
    client: AsyncClient,
) -> None:
    responses = await asyncio.gather(*(post_registration(client) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 4


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"password": "short"}, "user.weak_password"),
        ({"password": "a" * 129}, "user.weak_password"),
        ({"password": "aaaaaaaaaaaaaaaa"}, "user.weak_password"),
        ({"email": "not-an-email"}, "validation_error"),
        ({"email": 42}, "validation_error"),
        ({"full_name": "x" * 201}, "validation_error"),
    ],
)
async def test_bad_registrations_are_422(
    client: AsyncClient, overrides: dict[str, Any], code: str
) -> None:
    assert_problem(await post_registration(client, **overrides), 422, code)
