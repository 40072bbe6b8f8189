"""The password policy: length and variety matter, composition rules do not."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.entities.user import WeakPasswordError
from app.domain.errors import InvalidValueError
from app.domain.value_objects.password import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    ensure_acceptable_password,
    normalize_password,
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
    normalized = unicodedata.normalize("NFKC", password)
    acceptable = (
        PASSWORD_MIN_LENGTH <= len(normalized) <= PASSWORD_MAX_LENGTH
        and len(set(normalized.lower())) >= 4
        and normalized.lower() not in {EMAIL, "alice.liddell"}
    )
    if acceptable:
        ensure_acceptable_password(password, email=EMAIL)
    else:
        with pytest.raises(WeakPasswordError):
            ensure_acceptable_password(password, email=EMAIL)


# ---------------------------------------------------------------- NFKC (NIST SP 800-63B 5.1.1.2)

COMPOSED = "caf\u00e9 au lait, s'il vous pla\u00eet"  # é and î as one code point each
DECOMPOSED = "cafe\u0301 au lait, s'il vous plai\u0302t"  # e + combining acute, i + circumflex


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        (COMPOSED, COMPOSED),
        (DECOMPOSED, COMPOSED),
        ("\ufb01nally \ufb02oating", "finally floating"),  # the ﬁ and ﬂ ligatures
        ("\uff30\uff41\uff53\uff53 \uff37\uff4f\uff52\uff44", "Pass Word"),  # fullwidth
        ("x\u00b2 \u2163 \u2460", "x2 IV 1"),  # superscript, Roman numeral, circled digit
        ("plain ascii stays as it is", "plain ascii stays as it is"),
        ("  spaces and CASE kept  ", "  spaces and CASE kept  "),
    ],
)
def test_passwords_are_normalized_with_nfkc(typed: str, normalized: str) -> None:
    assert normalize_password(typed) == normalized
    assert normalize_password(normalized) == normalized  # stable


def test_every_rule_judges_the_normalized_form() -> None:
    # 11 code points as typed, 12 once the ligature is two letters: long enough.
    ensure_acceptable_password("\ufb01ve wizards", email=EMAIL)
    # 13 code points as typed, 11 once each e + accent is one: too short.
    assert "at least 12" in reason_for("cre\u0300me bru\u0302le\u0301")
    # 129 code points as typed but 128 normalized: accepted; 128 typed but 129 normalized: not.
    ensure_acceptable_password("abcd" * 31 + "xyz" + "e\u0301", email=EMAIL)
    assert "at most 128" in reason_for("abcd" * 31 + "xyz" + "\ufb01")
    # Fullwidth repetition is repetition, and the e-mail in fullwidth is the e-mail.
    assert reason_for("\uff41\uff42" * 6) == "is too repetitive"
    fullwidth_local_part = "".join(chr(ord(c) + 0xFEE0) for c in "Alice.Liddell")
    assert reason_for(fullwidth_local_part) == "must not be your e-mail address"
