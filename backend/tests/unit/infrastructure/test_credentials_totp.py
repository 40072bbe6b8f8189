"""The pyotp adapter (RFC 6238): 30-second steps, one step of drift either way, nothing more."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from app.infrastructure.adapters.totp import PyotpAuthenticator

FIXED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
AT = datetime(2026, 11, 22, 12, 0, 10, tzinfo=UTC)
AUTHENTICATOR = PyotpAuthenticator("Strata")


@pytest.fixture
def secret() -> str:
    return AUTHENTICATOR.new_secret()


def code_at(secret: str, steps: int) -> str:
    return pyotp.TOTP(secret).at(AT + timedelta(seconds=30 * steps))


def test_a_new_secret_is_160_random_bits_in_base32(secret: str) -> None:
    assert len(base64.b32decode(secret)) == 20
    assert AUTHENTICATOR.new_secret() != secret


@pytest.mark.parametrize("steps", [-1, 0, 1])
def test_the_current_and_neighbouring_steps_are_accepted(secret: str, steps: int) -> None:
    current = pyotp.TOTP(secret).timecode(AT)

    assert AUTHENTICATOR.matching_step(secret, code_at(secret, steps), at=AT) == current + steps


@pytest.mark.parametrize("steps", [-3, -2, 2, 3])
def test_codes_two_or_more_steps_away_are_refused(steps: int) -> None:
    # A fixed secret whose codes of steps -3..3 around AT all differ: with a random one, two steps
    # could share a code (one chance in a million) and the test would fail for no fault.
    secret = FIXED_SECRET
    code = code_at(secret, steps)

    assert AUTHENTICATOR.matching_step(secret, code, at=AT) is None


@pytest.mark.parametrize("garbage", ["", "12345", "1234567", "12345a", "١٢٣٤٥٦", "12-34-56"])
def test_anything_but_six_ascii_digits_is_refused(secret: str, garbage: str) -> None:
    assert AUTHENTICATOR.matching_step(secret, garbage, at=AT) is None


def test_spaces_are_ignored(secret: str) -> None:
    code = code_at(secret, 0)

    assert AUTHENTICATOR.matching_step(secret, f" {code}\n", at=AT) is not None
    assert AUTHENTICATOR.matching_step(secret, f"{code[:3]} {code[3:]}", at=AT) is not None


def test_the_provisioning_uri_names_the_issuer_and_the_account(secret: str) -> None:
    uri = urlparse(AUTHENTICATOR.provisioning_uri(secret, account="alice@example.com"))
    query = parse_qs(uri.query)

    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == "/Strata:alice%40example.com"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Strata"]
