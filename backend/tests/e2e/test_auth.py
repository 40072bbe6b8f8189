from __future__ import annotations

import asyncio
import time
from typing import Any

import jwt
import pytest
from httpx import AsyncClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

from app.infrastructure.database.engine import Database
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    TEST_SECRET_KEY,
    USER_PASSWORD,
    Headers,
)
from tests.e2e.test_product import assert_problem

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
ME = "/api/v1/users/me"


async def register(client: AsyncClient, **overrides: Any) -> Any:
    body = {"email": "grace@example.com", "password": USER_PASSWORD, **overrides}
    return await client.post(REGISTER, json=body)


async def test_register_creates_a_user_with_the_user_role(client: AsyncClient) -> None:
    response = await register(client, email="  Grace@Example.COM ", full_name="Grace Hopper")
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
    response = await register(client, role="admin")
    assert_problem(response, 422, "validation_error")
    login = await client.post(
        LOGIN, data={"username": "grace@example.com", "password": USER_PASSWORD}
    )
    assert_problem(login, 401, "auth.invalid_credentials")


async def test_duplicate_email_is_409_whatever_its_case(client: AsyncClient) -> None:
    assert (await register(client)).status_code == 201
    assert_problem(await register(client, email="GRACE@example.com"), 409, "user.email_taken")


async def test_concurrent_registrations_of_one_email_create_one_account(
    client: AsyncClient,
) -> None:
    responses = await asyncio.gather(*(register(client) for _ in range(5)))
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
    assert_problem(await register(client, **overrides), 422, code)


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


# ---------------------------------------------------------------- normalized passwords (NFKC)

COMPOSED = "Cr\u00e8me br\u00fbl\u00e9e, s'il vous pla\u00eet, avec un caf\u00e9 noir"
DECOMPOSED = "Cre\u0300me bru\u0302le\u0301e, s'il vous plai\u0302t, avec un cafe\u0301 noir"


async def log_in_status(client: AsyncClient, email: str, password: str) -> int:
    response = await client.post(LOGIN, data={"username": email, "password": password})
    return response.status_code


async def stored_hash(database_url: str, email: str) -> str:
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            result = await connection.execute(
                text("SELECT password_hash FROM users WHERE email = :email"), {"email": email}
            )
            return str(result.scalar_one())
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    ("set_as", "typed_later"),
    [
        (DECOMPOSED, COMPOSED),
        (COMPOSED, DECOMPOSED),
        (
            "\ufb01ve \ufb02oating \ufb01sh on a \ufb01ne Tuesday",
            "five floating fish on a fine Tuesday",
        ),
        (
            "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in "Quixotic Zebras 42"),
            "Quixotic Zebras 42",
        ),
    ],
    ids=["decomposed-then-composed", "composed-then-decomposed", "ligatures", "fullwidth"],
)
async def test_a_password_opens_however_the_device_composes_it(
    client: AsyncClient, set_as: str, typed_later: str
) -> None:
    response = await register(client, password=set_as)
    assert response.status_code == 201, response.text

    assert await log_in_status(client, "grace@example.com", typed_later) == 200
    assert await log_in_status(client, "grace@example.com", set_as) == 200
    assert await log_in_status(client, "grace@example.com", typed_later + "x") == 401


async def test_a_hash_of_the_password_as_typed_still_opens_and_is_rehashed_at_login(
    client: AsyncClient, database_url: str
) -> None:
    assert (await register(client)).status_code == 201
    legacy = await set_legacy_hash(database_url, "grace@example.com", DECOMPOSED)
    # Before the rehash only the form it was made from opens.
    assert await log_in_status(client, "grace@example.com", COMPOSED) == 401
    assert await stored_hash(database_url, "grace@example.com") == legacy

    assert await log_in_status(client, "grace@example.com", DECOMPOSED) == 200

    rehashed = await stored_hash(database_url, "grace@example.com")
    assert rehashed != legacy
    assert rehashed.startswith("$argon2id$")
    for typed in (COMPOSED, DECOMPOSED):
        assert await log_in_status(client, "grace@example.com", typed) == 200
    assert await stored_hash(database_url, "grace@example.com") == rehashed  # once only


async def set_legacy_hash(database_url: str, email: str, typed: str) -> str:
    """Store what an earlier version made: the hash of `typed` exactly as typed."""
    legacy = PasswordHash((Argon2Hasher(memory_cost=1024, time_cost=1, parallelism=1),)).hash(typed)
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE users SET password_hash = :hash WHERE email = :email"),
                {"hash": legacy, "email": email},
            )
    finally:
        await database.dispose()
    return legacy


async def test_a_password_change_checks_and_sets_the_normalized_form_too(
    client: AsyncClient, database_url: str
) -> None:
    assert (await register(client, password=DECOMPOSED)).status_code == 201
    login = await client.post(LOGIN, data={"username": "grace@example.com", "password": COMPOSED})
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    ligatures, spelled_out = "\ufb01ve \ufb02oating \ufb01sh at noon", "five floating fish at noon"

    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": COMPOSED, "new_password": ligatures},
        headers=headers,
    )
    assert changed.status_code == 204, changed.text
    assert await log_in_status(client, "grace@example.com", spelled_out) == 200
    # A legacy hash is accepted here too, in the form it was made from (and replaced anyway).
    await set_legacy_hash(database_url, "grace@example.com", DECOMPOSED)
    changed_again = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": DECOMPOSED, "new_password": COMPOSED + " encore"},
        headers=headers,
    )
    assert changed_again.status_code == 204, changed_again.text
    assert await log_in_status(client, "grace@example.com", DECOMPOSED + " encore") == 200


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
