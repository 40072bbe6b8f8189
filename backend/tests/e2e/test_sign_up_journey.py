"""Signing up, verifying the e-mail, turning on MFA and signing in with a code
(features/sign_up_journey.feature)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from pytest_bdd import given, parsers, scenario, then, when

from tests.e2e.conftest import USER_PASSWORD, make_settings
from tests.e2e.journeys import LOGIN, ME, App, bearer, running_app
from tests.e2e.test_credentials import TOTP_STEP_SECONDS, mails_to, token_in

FEATURE = "features/sign_up_journey.feature"


@scenario(FEATURE, "A new user verifies the e-mail, turns on MFA and signs in again with a code")
def test_a_new_user_verifies_turns_on_mfa_and_signs_in_with_a_code(database_url: str) -> None:
    """Runs on each database: `database_url` is parametrized by backend."""


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    """This test's own mail directory, so the only mail in it is the journey's."""
    return tmp_path / "mail"


@pytest.fixture
def app(database_url: str, mail_dir: Path) -> Iterator[App]:
    with running_app(make_settings(database_url, mail_dir=mail_dir)) as running:
        yield running


@pytest.fixture
def me() -> dict[str, Any]:
    """What the user knows along the way: address, tokens, authenticator."""
    return {}


def profile(app: App, me: dict[str, Any]) -> dict[str, Any]:
    response = app.get(ME, headers=bearer(me["tokens"]))
    assert response.status_code == 200, response.text
    return dict(response.json())


def wait_for_time_left_in_this_totp_step(seconds: float = 10) -> None:
    """Enabling MFA spends this step's code and the login needs the next one (a code is good
    once): both must be named against the same step, so a boundary must not fall in between."""
    left = TOTP_STEP_SECONDS - time.time() % TOTP_STEP_SECONDS
    if left < seconds:
        time.sleep(left + 0.05)  # the clock itself is the condition: nothing to poll


@given(parsers.parse('I have registered as "{email}"'))
def registered(app: App, me: dict[str, Any], email: str) -> None:
    app.register(email)
    me["email"] = email


@given("I have logged in with my password")
def logged_in_with_password(app: App, me: dict[str, Any]) -> None:
    response = app.post(LOGIN, data={"username": me["email"], "password": USER_PASSWORD})
    assert response.status_code == 200, response.text
    me["tokens"] = response.json()


@then("my e-mail address is not verified yet")
def not_verified(app: App, me: dict[str, Any]) -> None:
    assert profile(app, me)["email_verified"] is False


@when("I follow the verification link mailed to me")
def follow_verification_link(app: App, me: dict[str, Any], mail_dir: Path) -> None:
    [message] = mails_to(mail_dir, me["email"])
    response = app.post("/api/v1/auth/email/verify", json={"token": token_in(message)})
    assert response.status_code == 204, response.text


@then("my e-mail address is verified")
def verified(app: App, me: dict[str, Any]) -> None:
    assert profile(app, me)["email_verified"] is True


@when("I turn on two-factor sign-in with my authenticator app")
def turn_on_mfa(app: App, me: dict[str, Any]) -> None:
    setup = app.post("/api/v1/auth/mfa/setup", headers=bearer(me["tokens"]))
    assert setup.status_code == 200, setup.text
    authenticator = pyotp.TOTP(setup.json()["secret"])
    wait_for_time_left_in_this_totp_step()
    enabled = app.post(
        "/api/v1/auth/mfa/enable", json={"code": authenticator.now()}, headers=bearer(me["tokens"])
    )
    assert enabled.status_code == 200, enabled.text
    me["authenticator"] = authenticator


@when("I log out")
def log_out(app: App, me: dict[str, Any]) -> None:
    response = app.post("/api/v1/auth/logout", headers=bearer(me["tokens"]))
    assert response.status_code == 204, response.text


@then("my old session no longer works")
def old_session_refused(app: App, me: dict[str, Any]) -> None:
    response = app.get(ME, headers=bearer(me["tokens"]))
    assert response.status_code == 401
    assert response.json()["code"] == "auth.invalid_token"


@when("I log in with my password")
def log_in_with_password(app: App, me: dict[str, Any]) -> None:
    me["login"] = app.post(LOGIN, data={"username": me["email"], "password": USER_PASSWORD})


@then("I am asked for a code instead of being let in")
def asked_for_code(me: dict[str, Any]) -> None:
    response = me["login"]
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"mfa_required": True, "mfa_token": body["mfa_token"]}


@when("I enter the code my authenticator app shows")
def enter_code(app: App, me: dict[str, Any]) -> None:
    # A code is good once and this step's was spent turning MFA on: the user would wait for the
    # next one, which the server already accepts now (it allows a step of clock drift).
    authenticator: pyotp.TOTP = me["authenticator"]
    code = authenticator.at(datetime.now(UTC) + timedelta(seconds=TOTP_STEP_SECONDS))
    response = app.post(
        "/api/v1/auth/mfa/verify", json={"mfa_token": me["login"].json()["mfa_token"], "code": code}
    )
    assert response.status_code == 200, response.text
    me["tokens"] = response.json()


@then("I am signed in with two-factor sign-in on")
def signed_in_with_mfa(app: App, me: dict[str, Any]) -> None:
    signed_in = profile(app, me)
    assert signed_in["email"] == me["email"]
    assert signed_in["mfa_enabled"] is True
