"""Passwords, e-mail verification and reset, and TOTP MFA through the HTTP API; mail is received
both from the development `.eml` adapter and by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import json
import re
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pyotp
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from httpx import AsyncClient
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

from app.infrastructure.adapters import mail as mail_adapter
from app.infrastructure.database.engine import Database
from tests.conftest import empty_all_tables
from tests.e2e.conftest import USER_PASSWORD, make_settings, running_client
from tests.e2e.test_product import assert_problem
from tests.e2e.test_session import EMAIL, LOGIN, bearer, log_in, refresh, register
from tests.e2e.test_user import post_registration

ME = "/api/v1/users/me"
NEW_PASSWORD = "a different and equally long passphrase"
TOKEN_IN_LINK = re.compile(r"token=([A-Za-z0-9_.\-]+)")
TOTP_STEP_SECONDS = 30
# Enough of a TOTP step for a test to spend its code and try the neighbouring steps' codes.
TOTP_STEP_SLACK_SECONDS = 10


def mails_to(mail_dir: Path, address: str) -> list[Message]:
    found = []
    for path in sorted(mail_dir.glob("*.eml"), key=lambda p: p.stat().st_mtime):
        message = email.message_from_bytes(path.read_bytes())
        if message["To"] == address:
            found.append(message)
    return found


def token_in(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    match = TOKEN_IN_LINK.search(payload.decode())
    assert match, payload
    return match.group(1)


@pytest_asyncio.fixture
async def mail_client(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[AsyncClient, Path]]:
    mail_dir = tmp_path / "mail"
    async with running_client(make_settings(database_url, mail_dir=mail_dir)) as client:
        yield client, mail_dir
    await empty_all_tables(database_url)


# ---------------------------------------------------------------- password strength


async def test_weak_passwords_are_refused_with_the_reason(client: AsyncClient) -> None:
    cases = {
        "password1234": "common",
        "short": "at least 12",
        "x" * 129: "at most 128",
        "reader@example.com": "e-mail",
        "readerreader2024": "guess",
    }
    for password, why in cases.items():
        response = await client.post(
            "/api/v1/auth/register", json={"email": EMAIL, "password": password}
        )
        body = assert_problem(response, 422, "user.weak_password")
        assert why in body["detail"].lower() or why in body["errors"][0]["message"].lower(), body


async def test_a_128_character_password_is_used_whole(client: AsyncClient) -> None:
    password = "Vx9!qLw2#Rt7$Kp4" * 8  # 128 characters
    response = await client.post(
        "/api/v1/auth/register", json={"email": EMAIL, "password": password}
    )
    assert response.status_code == 201, response.text

    almost = password[:-1] + ("A" if password[-1] != "A" else "B")
    wrong = await client.post("/api/v1/auth/login", data={"username": EMAIL, "password": almost})

    assert_problem(wrong, 401, "auth.invalid_credentials")
    assert (await log_in(client, EMAIL, password))["access_token"]


# ---------------------------------------------------------------- e-mail verification


async def test_registration_mails_a_single_use_verification_link(
    mail_client: tuple[AsyncClient, Path],
) -> None:
    client, mail_dir = mail_client
    await register(client)
    [message] = mails_to(mail_dir, EMAIL)
    token = token_in(message)
    tokens = await log_in(client)
    assert (await client.get(ME, headers=bearer(tokens))).json()["email_verified"] is False

    first = await client.post("/api/v1/auth/email/verify", json={"token": token})
    again = await client.post("/api/v1/auth/email/verify", json={"token": token})

    assert first.status_code == 204
    assert_problem(again, 422, "auth.invalid_one_time_token")
    assert (await client.get(ME, headers=bearer(tokens))).json()["email_verified"] is True
    for garbage in ("", "x", "not-a-uuid.secret", token.split(".")[0] + ".wrong"):
        response = await client.post("/api/v1/auth/email/verify", json={"token": garbage})
        assert response.status_code == 422, garbage


# ---------------------------------------------------------------- password reset


async def test_forgot_password_is_202_for_anyone_and_mails_only_real_accounts(
    mail_client: tuple[AsyncClient, Path],
) -> None:
    client, mail_dir = mail_client
    await register(client)

    known = await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
    unknown = await client.post("/api/v1/auth/password/forgot", json={"email": "ghost@example.com"})
    invalid = await client.post("/api/v1/auth/password/forgot", json={"email": "not an email"})

    assert known.status_code == unknown.status_code == invalid.status_code == 202
    assert known.content == unknown.content
    assert len(mails_to(mail_dir, EMAIL)) == 2  # verification, then the reset link
    assert mails_to(mail_dir, "ghost@example.com") == []


async def test_a_password_reset_revokes_every_session_and_works_once(
    mail_client: tuple[AsyncClient, Path],
) -> None:
    client, mail_dir = mail_client
    await register(client)
    old = await log_in(client)
    await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
    token = token_in(mails_to(mail_dir, EMAIL)[-1])

    weak = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "password1234"}
    )
    reset = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )
    replay = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD + "!"}
    )

    assert_problem(weak, 422, "user.weak_password")
    assert reset.status_code == 204, reset.text
    assert_problem(replay, 422, "auth.invalid_one_time_token")
    assert_problem(await client.get(ME, headers=bearer(old)), 401, "auth.invalid_token")
    assert_problem(await refresh(client, old["refresh_token"]), 401, "auth.invalid_refresh_token")
    assert (await log_in(client, EMAIL, NEW_PASSWORD))["access_token"]
    old_password = await client.post(
        "/api/v1/auth/login", data={"username": EMAIL, "password": USER_PASSWORD}
    )
    assert_problem(old_password, 401, "auth.invalid_credentials")


async def test_a_reset_token_expires_after_30_minutes(
    mail_client: tuple[AsyncClient, Path], database_url: str
) -> None:
    client, mail_dir = mail_client
    await register(client)
    await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
    token = token_in(mails_to(mail_dir, EMAIL)[-1])
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(
                text("UPDATE one_time_tokens SET expires_at = :past"),
                {"past": datetime.now(UTC) - timedelta(seconds=1)},
            )
    finally:
        await database.dispose()

    response = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert_problem(response, 422, "auth.invalid_one_time_token")


# ---------------------------------------------------------------- password change


async def test_a_password_change_keeps_this_session_and_revokes_the_others(
    client: AsyncClient,
) -> None:
    await register(client)
    other = await log_in(client)
    current = await log_in(client)

    wrong = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=bearer(current),
    )
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(current),
    )

    assert_problem(wrong, 403, "auth.wrong_password")
    assert changed.status_code == 204, changed.text
    assert (await client.get(ME, headers=bearer(current))).status_code == 200
    assert_problem(await client.get(ME, headers=bearer(other)), 401, "auth.invalid_token")


# ---------------------------------------------------------------- MFA


async def enable_mfa(client: AsyncClient, tokens: dict[str, Any]) -> tuple[pyotp.TOTP, list[str]]:
    setup = await client.post("/api/v1/auth/mfa/setup", headers=bearer(tokens))
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Strata:")
    totp = pyotp.TOTP(body["secret"])
    await with_time_left_in_this_step()
    enabled = await client.post(
        "/api/v1/auth/mfa/enable", json={"code": totp.now()}, headers=bearer(tokens)
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    return totp, codes


async def with_time_left_in_this_step(seconds: float = TOTP_STEP_SLACK_SECONDS) -> None:
    """Waits for the next 30-second TOTP step when fewer than `seconds` remain of this one.

    The tests spend the current step's code to enable MFA, then name the steps around it
    (`code_at(totp, 1)` must be the step after the spent one): a step boundary crossed in between
    would shift every code by one and fail them by chance (seen on a loaded machine).
    """
    left = TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS
    if left < seconds:
        await asyncio.sleep(left + 0.05)


def code_at(totp: pyotp.TOTP, steps_from_now: int) -> str:
    return totp.at(datetime.now(UTC) + timedelta(seconds=30 * steps_from_now))


async def mfa_token(client: AsyncClient) -> str:
    response = await client.post(
        "/api/v1/auth/login", data={"username": EMAIL, "password": USER_PASSWORD}
    )
    body = response.json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"]}
    return str(body["mfa_token"])


async def test_with_mfa_on_login_needs_a_code_and_a_code_works_once(
    client: AsyncClient, database_url: str
) -> None:
    await register(client)
    tokens = await log_in(client)
    totp, _ = await enable_mfa(client, tokens)
    pending = await mfa_token(client)

    as_bearer = await client.get(ME, headers={"Authorization": f"Bearer {pending}"})
    replayed = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": totp.now()}
    )  # the code that enabled MFA: already used
    next_step = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": code_at(totp, 1)}
    )
    spent_token = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": code_at(totp, -1)}
    )
    fresh = await mfa_token(client)
    same_again = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": fresh, "code": code_at(totp, 1)}
    )
    too_far = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": fresh, "code": code_at(totp, 3)}
    )

    assert_problem(as_bearer, 401, "auth.invalid_token")
    assert_problem(replayed, 401, "auth.invalid_mfa_code")
    assert next_step.status_code == 200, next_step.text
    assert (await client.get(ME, headers=bearer(next_step.json()))).json()["mfa_enabled"] is True
    assert_problem(spent_token, 401, "auth.invalid_token")  # one password check, one session
    assert_problem(same_again, 401, "auth.invalid_mfa_code")
    assert_problem(too_far, 401, "auth.invalid_mfa_code")
    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            sealed = await connection.scalar(
                text("SELECT totp_secret_sealed FROM users WHERE mfa_enabled")
            )
    finally:
        await database.dispose()
    assert totp.secret not in str(sealed)
    assert str(sealed).startswith("v1.")


async def test_a_recovery_code_replaces_a_totp_code_once(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)
    _, codes = await enable_mfa(client, tokens)

    first = await client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfa_token": await mfa_token(client), "code": codes[0].upper()},
    )
    second = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": await mfa_token(client), "code": codes[0]}
    )

    assert first.status_code == 200, first.text
    assert_problem(second, 401, "auth.invalid_mfa_code")


async def test_mfa_verify_refuses_forged_tokens_and_bad_bodies(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)
    await enable_mfa(client, tokens)

    for token in (tokens["access_token"], tokens["refresh_token"], "garbage"):
        response = await client.post(
            "/api/v1/auth/mfa/verify", json={"mfa_token": token, "code": "123456"}
        )
        assert_problem(response, 401, "auth.invalid_token")
    assert_problem(
        await client.post("/api/v1/auth/mfa/verify", json={"mfa_token": "x"}),
        422,
        "validation_error",
    )


async def test_disabling_mfa_and_changing_the_password_need_the_password_and_a_code(
    client: AsyncClient,
) -> None:
    await register(client)
    tokens = await log_in(client)
    totp, _ = await enable_mfa(client, tokens)

    no_code = await client.post(
        "/api/v1/auth/password/change",
        json={"current_password": USER_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(tokens),
    )
    wrong_password = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": "wrong password!", "code": code_at(totp, 1)},
        headers=bearer(tokens),
    )
    wrong_code = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": USER_PASSWORD, "code": "000000"},
        headers=bearer(tokens),
    )
    disabled = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": USER_PASSWORD, "code": code_at(totp, 1)},
        headers=bearer(tokens),
    )

    # With MFA on, either factor wrong gets one answer: a password guess is never confirmed.
    assert_problem(no_code, 403, "auth.wrong_password_or_code")
    assert_problem(wrong_password, 403, "auth.wrong_password_or_code")
    assert_problem(wrong_code, 403, "auth.wrong_password_or_code")
    assert wrong_password.json()["detail"] == wrong_code.json()["detail"]
    assert disabled.status_code == 204, disabled.text
    assert (await log_in(client))["access_token"]  # no second step any more


async def test_mfa_state_errors_are_409(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)

    early = await client.post(
        "/api/v1/auth/mfa/enable", json={"code": "123456"}, headers=bearer(tokens)
    )
    not_on = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": USER_PASSWORD, "code": "123456"},
        headers=bearer(tokens),
    )
    await enable_mfa(client, tokens)
    twice = await client.post("/api/v1/auth/mfa/setup", headers=bearer(tokens))

    assert_problem(early, 409, "mfa.setup_missing")
    assert_problem(not_on, 409, "mfa.not_enabled")
    assert_problem(twice, 409, "mfa.already_enabled")


async def test_erasing_an_account_with_mfa_needs_a_code(client: AsyncClient) -> None:
    await register(client)
    tokens = await log_in(client)
    totp, _ = await enable_mfa(client, tokens)

    without = await client.request(
        "DELETE", ME, json={"password": USER_PASSWORD}, headers=bearer(tokens)
    )
    with_code = await client.request(
        "DELETE",
        ME,
        json={"password": USER_PASSWORD, "code": code_at(totp, 1)},
        headers=bearer(tokens),
    )

    assert_problem(without, 403, "auth.wrong_password_or_code")
    assert with_code.status_code == 204


# ---------------------------------------------------------------- real SMTP


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, list[Message]]]:
    received: list[Message] = []

    class Collect(MessageHandler):
        def handle_message(self, message: Message) -> None:
            received.append(message)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Collect(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield controller, received
    finally:
        controller.stop()


async def test_the_reset_mail_travels_over_smtp_and_its_link_works(
    database_url: str, smtp_server: tuple[Controller, list[Message]]
) -> None:
    controller, received = smtp_server
    settings = make_settings(
        database_url,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
        smtp_from="Strata <no-reply@example.com>",
        public_base_url="https://app.example.com",
    )
    try:
        async with running_client(settings) as client:
            await register(client)
            await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})

            reset_mail = received[-1]
            assert reset_mail["To"] == EMAIL
            assert reset_mail["From"] == "Strata <no-reply@example.com>"
            body = reset_mail.get_payload(decode=True)
            assert isinstance(body, bytes)
            assert b"https://app.example.com/reset-password?token=" in body
            token = token_in(reset_mail)
            response = await client.post(
                "/api/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
            )
            assert response.status_code == 204
            assert len(received) == 2  # the verification mail, then the reset
    finally:
        await empty_all_tables(database_url)


async def test_an_unreachable_smtp_server_never_breaks_forgot_password(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(mail_adapter, "SMTP_RETRY_DELAYS_SECONDS", (0.01, 0.01))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = make_settings(
        database_url, smtp_host="127.0.0.1", smtp_port=closed_port, smtp_timeout_seconds=1
    )
    try:
        async with running_client(settings) as client:
            registered = await client.post(
                "/api/v1/auth/register", json={"email": EMAIL, "password": USER_PASSWORD}
            )
            forgot = await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
            assert registered.status_code == 201
            assert forgot.status_code == 202
        logged = capfd.readouterr().err  # the JSON log lines
        failures = [json.loads(line) for line in logged.splitlines() if "mail not sent" in line]
        assert [f["purpose"] for f in failures] == ["email_verification", "password_reset"]
        assert {f["error"] for f in failures} == {"SMTPConnectError"}
        assert EMAIL not in logged
        assert "token=" not in logged
    finally:
        await empty_all_tables(database_url)


# ---------------------------------------------------------------- audit trail


async def audit_rows(database_url: str) -> list[dict[str, Any]]:
    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            result = await connection.execute(text("SELECT * FROM audit_events"))
            return [dict(row) for row in result.mappings()]
    finally:
        await database.dispose()


async def test_credential_changes_are_audited_without_any_secret(
    mail_client: tuple[AsyncClient, Path], database_url: str
) -> None:
    client, mail_dir = mail_client
    await register(client)
    tokens = await log_in(client)
    totp, codes = await enable_mfa(client, tokens)
    pending = await mfa_token(client)
    failed = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": "000000"}
    )
    verified = await client.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": codes[0]}
    )
    changed = await client.post(
        "/api/v1/auth/password/change",
        json={
            "current_password": USER_PASSWORD,
            "new_password": NEW_PASSWORD,
            "code": code_at(totp, 1),
        },
        headers=bearer(verified.json()),
    )
    disabled = await client.post(
        "/api/v1/auth/mfa/disable",
        json={"password": NEW_PASSWORD, "code": codes[1]},
        headers=bearer(verified.json()),
    )
    await client.post("/api/v1/auth/password/forgot", json={"email": EMAIL})
    reset_token = token_in(mails_to(mail_dir, EMAIL)[-1])
    reset = await client.post(
        "/api/v1/auth/password/reset",
        json={"token": reset_token, "new_password": NEW_PASSWORD + " again"},
    )

    assert_problem(failed, 401, "auth.invalid_mfa_code")
    assert [r.status_code for r in (verified, changed, disabled, reset)] == [200, 204, 204, 204]
    rows = await audit_rows(database_url)
    outcomes = sorted((r["action"], r["outcome"]) for r in rows)
    assert outcomes == sorted(
        [
            ("auth.login", "success"),  # the password login before MFA
            ("mfa.enable", "success"),
            ("auth.login", "failure"),  # the wrong code
            ("auth.login", "success"),  # the recovery code
            ("password.change", "success"),
            ("mfa.disable", "success"),
            ("password.reset", "success"),
        ]
    )
    stored = " ".join(str(value) for row in rows for value in row.values())
    secrets = [USER_PASSWORD, NEW_PASSWORD, totp.secret, reset_token, pending, *codes]
    assert not [secret for secret in secrets if secret in stored]
    assert reset_token.split(".", 1)[1] not in stored


# ---------------------------------------------------------------- rate limits


async def test_password_checks_share_the_accounts_login_budget(database_url: str) -> None:
    settings = make_settings(
        database_url, rate_limit_enabled=True, rate_limit_login_account="4/minute"
    )
    try:
        async with running_client(settings) as client:
            await register(client)
            tokens = await log_in(client)  # one of the four
            wrong = {"current_password": "a wrong guess at it", "new_password": NEW_PASSWORD}
            answers = [
                await client.post(
                    "/api/v1/auth/password/change", json=wrong, headers=bearer(tokens)
                ),
                await client.post(
                    "/api/v1/auth/mfa/disable",
                    json={"password": "another wrong guess", "code": "123456"},
                    headers=bearer(tokens),
                ),
                await client.post(
                    "/api/v1/auth/password/change", json=wrong, headers=bearer(tokens)
                ),
                await client.post(
                    "/api/v1/auth/password/change", json=wrong, headers=bearer(tokens)
                ),
            ]
            login = await client.post(
                "/api/v1/auth/login", data={"username": EMAIL, "password": USER_PASSWORD}
            )

            assert [r.status_code for r in answers] == [403, 403, 403, 429]
            assert answers[-1].headers["retry-after"]
            assert_problem(login, 429, "rate_limited")
    finally:
        await empty_all_tables(database_url)


async def test_with_mfa_on_erasure_tells_no_wrong_password_from_a_wrong_code(
    client: AsyncClient,
) -> None:
    await register(client)
    tokens = await log_in(client)
    totp, _ = await enable_mfa(client, tokens)
    attempts = [
        {"password": "not my password", "code": "000000"},
        {"password": "not my password", "code": code_at(totp, 1)},
        {"password": "not my password"},
        {"password": USER_PASSWORD, "code": "000000"},
        {"password": USER_PASSWORD},
    ]

    answers = [
        await client.request("DELETE", ME, json=body, headers=bearer(tokens)) for body in attempts
    ]

    for answer in answers:
        assert_problem(answer, 403, "auth.wrong_password_or_code")
    assert len({answer.json()["detail"] for answer in answers}) == 1
    assert (await client.get(ME, headers=bearer(tokens))).status_code == 200


async def test_with_mfa_on_a_password_change_tells_nothing_before_both_factors(
    client: AsyncClient,
) -> None:
    await register(client)
    tokens = await log_in(client)
    totp, _ = await enable_mfa(client, tokens)

    def change(current: str, new: str, code: str | None = "000000") -> dict[str, Any]:
        return {"current_password": current, "new_password": new, "code": code}

    weak_wrong = await client.post(
        "/api/v1/auth/password/change",
        json=change("not my password", "password1234"),
        headers=bearer(tokens),
    )
    weak_right = await client.post(
        "/api/v1/auth/password/change",
        json=change(USER_PASSWORD, "password1234"),
        headers=bearer(tokens),
    )
    wrong = await client.post(
        "/api/v1/auth/password/change",
        json=change("not my password", NEW_PASSWORD, code_at(totp, 1)),
        headers=bearer(tokens),
    )
    right_but_no_code = await client.post(
        "/api/v1/auth/password/change",
        json=change(USER_PASSWORD, NEW_PASSWORD, None),
        headers=bearer(tokens),
    )

    # The new password's strength is judged whatever the current password.
    assert_problem(weak_wrong, 422, "user.weak_password")
    assert_problem(weak_right, 422, "user.weak_password")
    assert_problem(wrong, 403, "auth.wrong_password_or_code")
    assert_problem(right_but_no_code, 403, "auth.wrong_password_or_code")


@pytest.mark.parametrize("mfa", [False, True])
async def test_every_password_or_code_check_shares_the_accounts_budget(
    database_url: str, mfa: bool
) -> None:
    """Login, /mfa/verify, /password/change, /mfa/disable, /mfa/enable and DELETE /users/me draw
    on one budget per account; with MFA on, the refusals tell no factor from the other."""
    settings = make_settings(
        database_url,
        rate_limit_enabled=True,
        rate_limit_login_account="7/minute",
        rate_limit_mfa="100/minute",
    )
    try:
        async with running_client(settings) as client:
            await register(client)
            tokens = await log_in(client)  # 1
            if mfa:
                await enable_mfa(client, tokens)  # 2 (/mfa/enable checks a code)
                pending = await mfa_token(client)  # 3
                verify = await client.post(  # 4
                    "/api/v1/auth/mfa/verify", json={"mfa_token": pending, "code": "000000"}
                )
                assert_problem(verify, 401, "auth.invalid_mfa_code")
            else:
                early = await client.post(  # 2: no set-up, but a code was sent to be checked
                    "/api/v1/auth/mfa/enable", json={"code": "000000"}, headers=bearer(tokens)
                )
                assert_problem(early, 409, "mfa.setup_missing")
                await log_in(client)  # 3
                await log_in(client)  # 4
            wrong = "a wrong guess at it"
            answers = [
                await client.request(  # 5
                    "DELETE", ME, json={"password": wrong, "code": "000000"}, headers=bearer(tokens)
                ),
                await client.post(  # 6
                    "/api/v1/auth/password/change",
                    json={"current_password": wrong, "new_password": NEW_PASSWORD},
                    headers=bearer(tokens),
                ),
                await client.post(  # 7
                    "/api/v1/auth/mfa/disable",
                    json={"password": wrong, "code": "123456"},
                    headers=bearer(tokens),
                ),
                await client.request(  # 8: over
                    "DELETE", ME, json={"password": USER_PASSWORD}, headers=bearer(tokens)
                ),
            ]
            login = await client.post(
                "/api/v1/auth/login", data={"username": EMAIL, "password": USER_PASSWORD}
            )

            expected = "auth.wrong_password_or_code" if mfa else "auth.wrong_password"
            for answer in answers[:3]:
                assert_problem(answer, 403, expected)
            assert_problem(answers[3], 429, "rate_limited")
            assert answers[3].headers["retry-after"]
            assert_problem(login, 429, "rate_limited")
            assert (await client.get(ME, headers=bearer(tokens))).status_code == 200
    finally:
        await empty_all_tables(database_url)


# ---------------------------------------------------------------- malformed bodies


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/password/forgot", {"email": EMAIL, "role": "admin"}),
        ("/api/v1/auth/password/forgot", {"email": ["a@example.com"]}),
        ("/api/v1/auth/password/reset", {"token": 12345, "new_password": NEW_PASSWORD}),
        ("/api/v1/auth/password/reset", {"token": "x" * 257, "new_password": NEW_PASSWORD}),
        ("/api/v1/auth/password/reset", {"token": "a.b", "new_password": "x" * 1025}),
        ("/api/v1/auth/email/verify", {}),
        ("/api/v1/auth/email/verify", {"token": None}),
        ("/api/v1/auth/mfa/verify", {"mfa_token": "t", "code": 123456}),
        ("/api/v1/auth/mfa/verify", {"mfa_token": "t", "code": "1" * 33}),
    ],
)
async def test_malformed_bodies_are_422_problems(
    client: AsyncClient, path: str, body: dict[str, Any]
) -> None:
    assert_problem(await client.post(path, json=body), 422, "validation_error")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/password/change",
        "/api/v1/auth/mfa/setup",
        "/api/v1/auth/mfa/enable",
        "/api/v1/auth/mfa/disable",
    ],
)
async def test_signed_in_routes_need_a_bearer_token(client: AsyncClient, path: str) -> None:
    response = await client.post(path, json={})

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


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
    response = await post_registration(client, password=set_as)
    assert response.status_code == 201, response.text

    assert await log_in_status(client, "grace@example.com", typed_later) == 200
    assert await log_in_status(client, "grace@example.com", set_as) == 200
    assert await log_in_status(client, "grace@example.com", typed_later + "x") == 401


async def test_a_hash_of_the_password_as_typed_still_opens_and_is_rehashed_at_login(
    client: AsyncClient, database_url: str
) -> None:
    assert (await post_registration(client)).status_code == 201
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
    assert (await post_registration(client, password=DECOMPOSED)).status_code == 201
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
