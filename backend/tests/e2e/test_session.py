"""Sessions through the HTTP API: refresh rotation and reuse, logout, the session list, the cap,
and every way a token can be forged or misused."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy import text

from app.core.config import Settings
from app.infrastructure.database.engine import Database
from tests.conftest import empty_all_tables
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    TEST_SECRET_KEY,
    USER_PASSWORD,
    Headers,
    make_settings,
    running_client,
)
from tests.e2e.test_product import assert_problem

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
SESSIONS = "/api/v1/auth/sessions"
ME = "/api/v1/users/me"
EMAIL = "reader@example.com"


async def register(client: AsyncClient, email: str = EMAIL) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def log_in(
    client: AsyncClient, email: str = EMAIL, password: str = USER_PASSWORD, agent: str = "tests"
) -> dict[str, Any]:
    response = await client.post(
        LOGIN, data={"username": email, "password": password}, headers={"User-Agent": agent}
    )
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["token_type"] == "bearer"
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    return body


def bearer(tokens: dict[str, Any]) -> Headers:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def refresh(client: AsyncClient, refresh_token: str) -> Any:
    return await client.post(REFRESH, json={"refresh_token": refresh_token})


# ---------------------------------------------------------------- refresh


async def test_refresh_returns_a_new_pair_and_spends_the_old_refresh_token(
    client: AsyncClient,
) -> None:
    await register(client)
    first = await log_in(client)

    response = await refresh(client, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get(ME, headers=bearer(second))).status_code == 200
    assert (await client.get(ME, headers=bearer(first))).status_code == 200  # same session


async def test_refresh_reuse_revokes_the_whole_session(client: AsyncClient) -> None:
    await register(client)
    first = await log_in(client)
    second = (await refresh(client, first["refresh_token"])).json()

    reused = await refresh(client, first["refresh_token"])

    assert_problem(reused, 401, "auth.invalid_refresh_token")
    assert_problem(
        await refresh(client, second["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    for tokens in (first, second):
        assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.invalid_token")


async def test_a_wrong_secret_for_someones_session_is_401_and_revokes_nothing(
    client: AsyncClient,
) -> None:
    await register(client)
    victim = await log_in(client)
    # The session id is in every access token, readable without the key.
    session_id = jwt.decode(victim["access_token"], options={"verify_signature": False})["sid"]

    for garbage in ["garbage", "x" * 200, victim["refresh_token"][:-1].partition(".")[2], "é"]:
        response = await refresh(client, f"{session_id}.{garbage}")
        assert_problem(response, 401, "auth.invalid_refresh_token")

    assert (await client.get(ME, headers=bearer(victim))).status_code == 200
    renewed = await refresh(client, victim["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    # ... and reuse detection still works: the spent secret revokes the whole session.
    assert_problem(
        await refresh(client, victim["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    assert_problem(await client.get(ME, headers=bearer(renewed.json())), 401, "auth.invalid_token")


async def test_an_access_token_at_refresh_is_401(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)

    response = await refresh(client, tokens["access_token"])

    assert_problem(response, 401, "auth.invalid_refresh_token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


async def test_refresh_validates_its_body(client: AsyncClient) -> None:
    assert_problem(await client.post(REFRESH, json={}), 422, "validation_error")
    assert_problem(await client.post(REFRESH, json={"refresh_token": 5}), 422, "validation_error")
    assert_problem(
        await client.post(REFRESH, json={"refresh_token": "x", "extra": 1}), 422, "validation_error"
    )
    assert_problem(
        await client.post(REFRESH, content=b"{", headers={"Content-Type": "application/json"}),
        400,
        "malformed_request",
    )
    for garbage in ["x", "a.b", "01900000-0000-7000-8000-000000000000.secret", "é" * 100]:
        assert_problem(await refresh(client, garbage), 401, "auth.invalid_refresh_token")


# ---------------------------------------------------------------- logout


async def test_logout_stops_the_access_and_refresh_tokens_at_once(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)
    other = await log_in(client)

    response = await client.post(LOGOUT, headers=bearer(tokens))

    assert response.status_code == 204
    assert_problem(await client.get(ME, headers=bearer(tokens)), 401, "auth.invalid_token")
    assert_problem(
        await refresh(client, tokens["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    assert (await client.get(ME, headers=bearer(other))).status_code == 200  # other session lives


async def test_logout_needs_a_token(client: AsyncClient) -> None:
    assert_problem(await client.post(LOGOUT), 401, "auth.unauthenticated")


# ---------------------------------------------------------------- sessions


async def test_a_user_agent_is_stored_without_its_control_characters(
    client: AsyncClient,
) -> None:
    await register(client)
    # What an HTTP client can put in a header (the server's parser refuses NUL and line breaks);
    # Starlette reads header bytes as Latin-1, so 0x85 arrives as the C1 control U+0085.
    login = await client.post(
        LOGIN,
        data={"username": EMAIL, "password": USER_PASSWORD},
        headers={"User-Agent": b"phone\x1b[2J\x7f (Android)\x85"},
    )

    response = await client.get(SESSIONS, headers=bearer(login.json()))

    assert [item["user_agent"] for item in response.json()["items"]] == ["phone[2J (Android)"]


async def test_sessions_list_shows_the_callers_sessions_and_which_is_current(
    client: AsyncClient,
) -> None:
    await register(client)
    older = await log_in(client, agent="phone")
    current = await log_in(client, agent="laptop")

    response = await client.get(SESSIONS, headers=bearer(current))

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["user_agent"] for item in items] == ["laptop", "phone"]
    assert [item["current"] for item in items] == [True, False]
    assert set(items[0]) == {
        "id",
        "created_at",
        "last_used_at",
        "expires_at",
        "user_agent",
        "ip",
        "current",
    }
    assert older["refresh_token"] not in response.text


async def test_revoking_a_session_stops_its_tokens(client: AsyncClient) -> None:
    await register(client)
    doomed = await log_in(client, agent="stolen laptop")
    current = await log_in(client)
    items = (await client.get(SESSIONS, headers=bearer(current))).json()["items"]
    doomed_id = next(item["id"] for item in items if item["user_agent"] == "stolen laptop")

    response = await client.delete(f"{SESSIONS}/{doomed_id}", headers=bearer(current))

    assert response.status_code == 204
    assert_problem(await client.get(ME, headers=bearer(doomed)), 401, "auth.invalid_token")
    assert_problem(
        await refresh(client, doomed["refresh_token"]), 401, "auth.invalid_refresh_token"
    )
    assert len((await client.get(SESSIONS, headers=bearer(current))).json()["items"]) == 1


async def test_another_users_session_is_not_found(
    client: AsyncClient, admin_headers: Headers
) -> None:
    await register(client)
    victim = await log_in(client)
    victim_session = (await client.get(SESSIONS, headers=bearer(victim))).json()["items"][0]["id"]

    response = await client.delete(f"{SESSIONS}/{victim_session}", headers=admin_headers)

    assert_problem(response, 404, "session.not_found")
    assert (await client.get(ME, headers=bearer(victim))).status_code == 200
    assert_problem(
        await client.delete(f"{SESSIONS}/not-a-uuid", headers=admin_headers),
        422,
        "validation_error",
    )


@pytest_asyncio.fixture
async def capped_client(database_url: str) -> AsyncIterator[AsyncClient]:
    settings: Settings = make_settings(database_url, max_sessions_per_user=2)
    async with running_client(settings) as client:
        yield client
    await empty_all_tables(database_url)


async def test_the_session_cap_evicts_the_oldest(capped_client: AsyncClient) -> None:
    client = capped_client
    await register(client)
    oldest = await log_in(client, agent="first")
    await log_in(client, agent="second")
    newest = await log_in(client, agent="third")

    agents = [
        i["user_agent"]
        for i in (await client.get(SESSIONS, headers=bearer(newest))).json()["items"]
    ]

    assert agents == ["third", "second"]
    assert_problem(await client.get(ME, headers=bearer(oldest)), 401, "auth.invalid_token")
    assert_problem(
        await refresh(client, oldest["refresh_token"]), 401, "auth.invalid_refresh_token"
    )


# ---------------------------------------------------------------- misused tokens


async def test_a_refresh_token_as_bearer_is_401(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)

    response = await client.get(ME, headers={"Authorization": f"Bearer {tokens['refresh_token']}"})

    assert_problem(response, 401, "auth.invalid_token")


async def test_an_expired_token_is_401(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    now = int(time.time())
    expired = jwt.encode(
        {**claims, "iat": now - 120, "nbf": now - 120, "exp": now - 60},
        TEST_SECRET_KEY,
        algorithm="HS256",
    )

    assert_problem(
        await client.get(ME, headers={"Authorization": f"Bearer {expired}"}),
        401,
        "auth.invalid_token",
    )


# ---------------------------------------------------------------- audit and dependencies


async def test_logins_logouts_and_access_changes_are_audited_without_secrets(
    client: AsyncClient, admin_headers: Headers, database_url: str
) -> None:
    user = await register(client)
    await client.post(LOGIN, data={"username": EMAIL, "password": "wrong password here"})
    tokens = await log_in(client)
    await client.post(LOGOUT, headers=bearer(tokens))
    await client.patch(f"/api/v1/users/{user['id']}", json={"role": "admin"}, headers=admin_headers)

    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            rows = (await connection.execute(text("SELECT * FROM audit_events"))).mappings().all()
    finally:
        await database.dispose()

    mine = [
        row for row in rows if str(row["actor_id"]).replace("-", "") == user["id"].replace("-", "")
    ]
    assert sorted((row["action"], row["outcome"]) for row in mine) == [
        ("auth.login", "failure"),
        ("auth.login", "success"),
        ("auth.logout", "success"),
    ]
    [change] = [row for row in rows if row["action"] == "user.update"]
    assert str(change["target_id"]) == user["id"]
    dump = str([dict(row) for row in rows])
    for secret in (
        "wrong password here",
        USER_PASSWORD,
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in dump


async def test_reuse_revocations_and_unknown_accounts_are_audited_without_the_email(
    client: AsyncClient, database_url: str
) -> None:
    user = await register(client)
    stranger = "nobody-at-all@example.com"
    await client.post(LOGIN, data={"username": stranger, "password": "some password 123"})
    first = await log_in(client)
    await refresh(client, first["refresh_token"])
    await refresh(client, first["refresh_token"])  # reuse
    doomed = await log_in(client, agent="old tablet")
    current = await log_in(client)
    items = (await client.get(SESSIONS, headers=bearer(current))).json()["items"]
    doomed_id = next(item["id"] for item in items if item["user_agent"] == "old tablet")
    await client.delete(f"{SESSIONS}/{doomed_id}", headers=bearer(current))

    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            rows = (
                (await connection.execute(text("SELECT * FROM audit_events ORDER BY id")))
                .mappings()
                .all()
            )
    finally:
        await database.dispose()

    def same(stored: Any, expected: str) -> bool:
        return str(stored).replace("-", "") == expected.replace("-", "")

    [unknown] = [r for r in rows if r["action"] == "auth.login" and r["actor_id"] is None]
    assert (unknown["outcome"], unknown["target_id"]) == ("failure", None)
    [reuse] = [r for r in rows if r["action"] == "auth.refresh_reuse"]
    assert reuse["outcome"] == "denied"
    assert same(reuse["actor_id"], user["id"])
    [revoke] = [r for r in rows if r["action"] == "session.revoke"]
    assert revoke["outcome"] == "success"
    assert same(revoke["target_id"], doomed_id)
    assert same(revoke["actor_id"], user["id"])
    dump = str([dict(row) for row in rows])
    assert stranger not in dump
    assert EMAIL not in dump
    assert doomed["refresh_token"] not in dump
    assert doomed["refresh_token"].partition(".")[2] not in dump


async def test_with_redis_down_authenticated_requests_fail_closed(database_url: str) -> None:
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0")
    try:
        async with running_client(settings) as client:
            tokens = await log_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)

            response = await client.get(ME, headers=bearer(tokens))
            logout = await client.post(LOGOUT, headers=bearer(tokens))

            assert_problem(response, 503, "service_unavailable")
            assert response.headers["retry-after"] == "5"
            assert_problem(logout, 503, "service_unavailable")
    finally:
        await empty_all_tables(database_url)


async def test_login_returns_a_bearer_token_that_reads_me(client: AsyncClient) -> None:
    response = await client.post(LOGIN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 900
    me = await client.get(ME, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "admin"


async def test_wrong_email_and_wrong_password_get_the_same_401(client: AsyncClient) -> None:
    unknown = await client.post(
        LOGIN, data={"username": "nobody@example.com", "password": "x" * 12}
    )
    wrong = await client.post(LOGIN, data={"username": ADMIN_EMAIL, "password": "x" * 12})
    malformed = await client.post(LOGIN, data={"username": "not an email", "password": "x" * 12})
    bodies = []
    for response in (unknown, wrong, malformed):
        body = assert_problem(response, 401, "auth.invalid_credentials")
        bodies.append((body["detail"], body["title"]))
    assert len(set(bodies)) == 1


async def test_login_without_form_fields_is_422(client: AsyncClient) -> None:
    assert_problem(await client.post(LOGIN, data={}), 422, "validation_error")


def _token(**claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": "x",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "j",
        "type": "access",
        **claims,
    }
    return jwt.encode(payload, TEST_SECRET_KEY, algorithm="HS256")


async def _admin_id(client: AsyncClient, admin_headers: Headers) -> str:
    return str((await client.get(ME, headers=admin_headers)).json()["id"])


async def test_forged_and_misused_tokens_are_401(
    client: AsyncClient, admin_headers: Headers
) -> None:
    admin_id = await _admin_id(client, admin_headers)
    now = int(time.time())
    valid = admin_headers["Authorization"].removeprefix("Bearer ")
    session_id = jwt.decode(valid, options={"verify_signature": False})["sid"]
    header, payload, signature = valid.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    unsigned = jwt.encode(
        {
            "sub": admin_id,
            "sid": session_id,
            "iat": now,
            "exp": now + 60,
            "jti": "j",
            "type": "access",
        },
        key=None,
        algorithm="none",
    )
    forged = [
        unsigned,
        f"{header}.{payload}.{flipped}",
        _token(sub=admin_id, sid=session_id, exp=now - 1),
        _token(sub=admin_id, sid=session_id, type="refresh"),
        _token(sub=admin_id, sid=session_id, type="mfa"),
        _token(sub=admin_id, sid=session_id, nbf=now + 3600),
        _token(sub=admin_id),  # no session
        _token(sub=admin_id, sid="01900000-0000-7000-8000-000000000000"),  # nobody's session
        _token(sub="01900000-0000-7000-8000-000000000000", sid=session_id),  # someone else's
        _token(sub="not-a-uuid", sid=session_id),
        jwt.encode(
            {
                "sub": admin_id,
                "sid": session_id,
                "exp": now + 60,
                "iat": now,
                "nbf": now,
                "jti": "j",
                "type": "access",
            },
            "another-secret-that-is-long-enough-000000",
            algorithm="HS256",
        ),
        "not.a.jwt",
        "",
    ]
    for token in forged:
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == "Bearer"
    assert (
        await client.get(
            ME, headers={"Authorization": f"Bearer {_token(sub=admin_id, sid=session_id)}"}
        )
    ).status_code == 200


async def test_absurd_claims_signed_with_the_apps_own_key_are_401_not_500(
    client: AsyncClient, admin_headers: Headers
) -> None:
    admin_id = await _admin_id(client, admin_headers)
    valid = admin_headers["Authorization"].removeprefix("Bearer ")
    session_id = jwt.decode(valid, options={"verify_signature": False})["sid"]
    now = int(time.time())
    absurd = [
        {"exp": 1e30},
        {"exp": 10**30},
        {"iat": -(10**30)},
        {"nbf": True},
        {"sid": 12345},
        {"sid": ["not", "a", "uuid"]},
        {"jti": {"nested": 1}},
        {"exp": now + 10 * 365 * 86_400},  # valid far longer than an access token ever is
    ]
    for claims in absurd:
        token = _token(**{"sub": admin_id, "sid": session_id, **claims})
        response = await client.get(ME, headers={"Authorization": f"Bearer {token}"})
        assert_problem(response, 401, "auth.invalid_token")
        assert response.headers["www-authenticate"] == "Bearer"
    mfa_token = _token(sub=admin_id, type="mfa", exp=1e30)
    response = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": mfa_token, "code": "123456"}
    )
    assert_problem(response, 401, "auth.invalid_token")


async def test_me_without_a_token_is_401(client: AsyncClient) -> None:
    response = await client.get(ME)
    assert_problem(response, 401, "auth.unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
