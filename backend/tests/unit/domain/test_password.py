"""The password policy: length and variety matter, composition rules do not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidValueError, WeakPasswordError
from app.domain.value_objects.password import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    ensure_acceptable_password,
)

EMAIL = "alice.liddell@example.com"


def reason_for(password: str, email: str = EMAIL) -> str:
    with pytest.raises(WeakPasswordError) as caught:
        ensure_acceptable_password(password, email=email)
    assert caught.value.field == "password"
    return caught.value.reason


@pytest.mark.parametrize(
    "password",
    [
        "abcdefghijkl",  # exactly the minimum
        "correct horse battery staple",
        "x" * (PASSWORD_MAX_LENGTH - 4) + "abcd",  # exactly the maximum
        "ÄÖÜß-unicode-ok",
    ],
)
def test_accepts_a_long_enough_varied_password(password: str) -> None:
    ensure_acceptable_password(password, email=EMAIL)  # raises if refused

    assert PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH


def test_refuses_a_password_shorter_than_12_characters() -> None:
    assert "at least 12" in reason_for("abcdefghijk")


def test_refuses_a_password_longer_than_128_characters() -> None:
    assert "at most 128" in reason_for("abcd" * 32 + "e")


@pytest.mark.parametrize(
    "password", ["aaaaaaaaaaaa", "abababababab", "AbAbAbAbAbAb", "abcabcabcabc"]
)
def test_refuses_a_repetitive_password(password: str) -> None:
    assert reason_for(password) == "is too repetitive"


@pytest.mark.parametrize(
    "password", ["alice.liddell@example.com", "ALICE.LIDDELL@EXAMPLE.COM", "Alice.Liddell"]
)
def test_refuses_the_account_email_or_its_local_part(password: str) -> None:
    assert reason_for(password) == "must not be your e-mail address"


def test_a_weak_password_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError):
        ensure_acceptable_password("short", email=EMAIL)


def test_names_the_field_it_was_given() -> None:
    with pytest.raises(WeakPasswordError) as caught:
        ensure_acceptable_password("short", email=EMAIL, field="new_password")

    assert caught.value.field == "new_password"


@given(st.text(max_size=PASSWORD_MAX_LENGTH + 20))
def test_accepts_exactly_the_passwords_that_meet_every_rule(password: str) -> None:
    acceptable = (
        PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH
        and len(set(password.lower())) >= 4
        and password.lower() not in {EMAIL, "alice.liddell"}
    )
    if acceptable:
        ensure_acceptable_password(password, email=EMAIL)
    else:
        with pytest.raises(WeakPasswordError):
            ensure_acceptable_password(password, email=EMAIL)
