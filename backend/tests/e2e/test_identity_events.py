"""Logins, logouts, revocations, password changes and resets, MFA on and off, e-mail
verification, profile and access changes each leave their outbox row with their change, named
after the event and keyed by the session or account it is about, handed out after the response;
no row carries an e-mail address, a name, a password, a code, a token, an address or a user
agent. Refused attempts leave nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest_asyncio
from httpx import AsyncClient

from app.infrastructure.database.engine import Database
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    make_settings,
    running_client,
)
from tests.e2e.test_credentials import (
    NEW_PASSWORD,
    code_at,
    enable_mfa,
    mails_to,
    token_in,
)
from tests.e2e.test_event_outbox import outbox_rows
from tests.e2e.test_session import EMAIL, LOGIN, bearer, log_in, register

ME = "/api/v1/users/me"
AGENT = "identity-events-agent/7.1"
SESSION_EVENTS = ("SessionStarted", "SessionEnded")
# Never in an outbox payload, whatever the event (the test adds the secrets it saw).
PERSONAL = (EMAIL, "@", "reader", "Lovelace", AGENT, "127.0.0.1", USER_PASSWORD, NEW_PASSWORD)


@pytest_asyncio.fixture
async def client(
    committing_database: Database, database_url: str, tmp_path: Path
) -> AsyncIterator[AsyncClient]:
    async with running_client(make_settings(database_url, mail_dir=tmp_path)) as client:
        yield client


def told(rows: list[dict[str, Any]], secrets: Iterable[str] = ()) -> list[tuple[str, str, Any]]:
    """(name, aggregate id, payload) of each row, after checking it was handed out and carries
    nothing personal or secret."""
    for row in rows:
        assert row["published_at"] is not None, row["name"]
        for personal in (*PERSONAL, *secrets):
            assert personal not in row["payload"], (row["name"], personal)
    return [(row["name"], str(row["aggregate_id"]), json.loads(row["payload"])) for row in rows]


async def session_ids(client: AsyncClient, tokens: dict[str, Any]) -> tuple[str, list[str]]:
    """The id of the session `tokens` belong to, and of every other session of its user."""
    listed = await client.get("/api/v1/auth/sessions", headers=bearer(tokens))
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    [current] = [item["id"] for item in items if item["current"]]
    return current, [item["id"] for item in items if not item["current"]]


async def my_id(client: AsyncClient, tokens: dict[str, Any]) -> str:
    return str((await client.get(ME, headers=bearer(tokens))).json()["id"])


async def test_logins_a_revocation_and_a_logout_leave_their_session_events(
    client: AsyncClient, committing_database: Database
) -> None:
    await register(client)
    wrong = await client.post(LOGIN, data={"username": EMAIL, "password": "not the password"})
    assert wrong.status_code == 401
    first = await log_in(client, agent=AGENT)
    second = await log_in(client, agent=AGENT)
    user_id = await my_id(client, first)
    first_id, [second_id] = await session_ids(client, first)

    revoked = await client.delete(f"/api/v1/auth/sessions/{second_id}", headers=bearer(first))
    assert revoked.status_code == 204, revoked.text
    stranger = await client.delete(f"/api/v1/auth/sessions/{second_id}", headers=bearer(first))
    assert stranger.status_code == 404
    logged_out = await client.post("/api/v1/auth/logout", headers=bearer(first))
    assert logged_out.status_code == 204, logged_out.text

    rows = await outbox_rows(committing_database, *SESSION_EVENTS)
    tokens = [first["access_token"], first["refresh_token"], second["refresh_token"]]
    started = {"user_id": user_id}
    assert sorted(told(rows, tokens), key=str) == sorted(
        [
            ("SessionStarted", first_id, {"session_id": first_id, **started}),
            ("SessionStarted", second_id, {"session_id": second_id, **started}),
            (
                "SessionEnded",
                second_id,
                {"session_id": second_id, "user_id": user_id, "reason": "revoked"},
            ),
            (
                "SessionEnded",
                first_id,
                {"session_id": first_id, "user_id": user_id, "reason": "logout"},
            ),
        ],
        key=str,
    )
    # Each session's end is recorded after its start.
    assert [row["name"] for row in rows][-2:] == ["SessionEnded", "SessionEnded"]


async def test_a_password_change_mfa_on_an_mfa_login_and_mfa_off_leave_their_events(
    client: AsyncClient, committing_database: Database
) -> None:
    await register(client)
    tokens = await log_in(client)
    user_id = await my_id(client, tokens)
    refused = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )
    assert refused.status_code == 403
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )
    assert changed.status_code == 204, changed.text
    totp, codes = await enable_mfa(client, tokens)
    challenge = await client.post(LOGIN, data={"username": EMAIL, "password": NEW_PASSWORD})
    pending = challenge.json()["mfa_token"]
    verified = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": code_at(totp, 1)}
    )
    assert verified.status_code == 200, verified.text
    wrong_code = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": NEW_PASSWORD, "code": "000000"},
        headers=bearer(tokens),
    )
    assert wrong_code.status_code == 403
    disabled = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": NEW_PASSWORD, "code": codes[0]},
        headers=bearer(tokens),
    )
    assert disabled.status_code == 204, disabled.text

    names = ("PasswordChanged", "SecondFactorEnabled", "SessionStarted", "SecondFactorDisabled")
    rows = await outbox_rows(committing_database, *names)
    secrets = [totp.secret, pending, verified.json()["refresh_token"], *codes]
    mfa_session, _ = await session_ids(client, verified.json())
    assert told(rows, secrets)[1:] == [
        ("PasswordChanged", user_id, {"user_id": user_id, "via": "change"}),
        ("SecondFactorEnabled", user_id, {"user_id": user_id}),
        ("SessionStarted", mfa_session, {"session_id": mfa_session, "user_id": user_id}),
        ("SecondFactorDisabled", user_id, {"user_id": user_id}),
    ]
    assert rows[0]["name"] == "SessionStarted"  # the first login, before the change


async def test_a_reset_and_a_verification_link_leave_their_events(
    client: AsyncClient, committing_database: Database, tmp_path: Path
) -> None:
    await register(client)
    forgot = await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
    assert forgot.status_code == 202
    verify_token, reset_token = (token_in(message) for message in mails_to(tmp_path, EMAIL))
    # Asking for links records nothing; spending the reset link proves the address too.
    assert await outbox_rows(committing_database, "PasswordChanged", "EmailVerified") == []
    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": reset_token, "new_password": NEW_PASSWORD}
    )
    assert reset.status_code == 204, reset.text
    verified = await client.post("/api/v1/auth/email/verify", json={"token": verify_token})
    assert verified.status_code == 204, verified.text  # already proved: nothing more to tell
    user_id = await my_id(client, await log_in(client, password=NEW_PASSWORD))

    rows = await outbox_rows(committing_database, "PasswordChanged", "EmailVerified")
    assert sorted(told(rows, [verify_token, reset_token]), key=str) == [
        ("EmailVerified", user_id, {"user_id": user_id}),
        ("PasswordChanged", user_id, {"user_id": user_id, "via": "reset"}),
    ]


async def test_a_profile_update_and_an_access_change_leave_their_events(
    client: AsyncClient, committing_database: Database
) -> None:
    await register(client)
    reader = await log_in(client)
    reader_id = await my_id(client, reader)
    admin = await log_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    admin_id = await my_id(client, admin)
    for name in ("Ada Lovelace", " Ada Lovelace "):  # the second changes nothing
        renamed = await client.patch(ME, json={"full_name": name}, headers=bearer(reader))
        assert renamed.status_code == 200, renamed.text
    not_admin = await client.patch(
        f"/api/v1/users/{admin_id}", json={"is_active": False}, headers=bearer(reader)
    )
    assert not_admin.status_code == 403
    own = await client.patch(
        f"/api/v1/users/{admin_id}", json={"role": "user"}, headers=bearer(admin)
    )
    assert own.status_code == 409
    deactivated = await client.patch(
        f"/api/v1/users/{reader_id}", json={"is_active": False}, headers=bearer(admin)
    )
    assert deactivated.status_code == 200, deactivated.text

    rows = await outbox_rows(committing_database, "UserProfileUpdated", "UserAccessChanged")
    assert told(rows, ["Ada", ADMIN_EMAIL]) == [
        ("UserProfileUpdated", reader_id, {"user_id": reader_id, "changed_fields": ["full_name"]}),
        (
            "UserAccessChanged",
            reader_id,
            {"user_id": reader_id, "role": "user", "active": False, "changed_by": admin_id},
        ),
    ]
