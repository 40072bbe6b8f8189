"""The JWT adapter: access and MFA tokens are told apart, and nothing forged or stale passes.

PyJWT checks `exp` and `nbf` against the real time, so the clock here starts at the real now.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from app.domain.errors import InvalidTokenError
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.jwt_tokens import MFA_TOKEN_TTL_SECONDS, JwtTokenService
from tests.fakes import FakeClock

KEY = "a-signing-key-of-the-unit-tests-" * 2  # 64 bytes: long enough for HS512 too
TTL = 900


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def tokens(clock: FakeClock) -> JwtTokenService:
    return JwtTokenService(signing_key=KEY, ttl_seconds=TTL, clock=clock)


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def signed(claims: dict[str, Any], key: str = KEY, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def test_an_access_token_names_its_user_session_and_lifetime(
    tokens: JwtTokenService, clock: FakeClock
) -> None:
    user_id, session_id = new_id(), new_id()

    access = tokens.issue(user_id, session_id)
    claims = tokens.verify(access.token)

    assert access.expires_in == TTL
    assert (claims.subject, claims.session_id) == (user_id, session_id)
    assert claims.issued_at == clock.now()
    assert claims.expires_at == clock.now() + timedelta(seconds=TTL)
    assert claims_of(access.token)["type"] == "access"


def test_every_token_has_its_own_id(tokens: JwtTokenService) -> None:
    user_id, session_id = new_id(), new_id()
    first, second = (tokens.issue(user_id, session_id).token for _ in range(2))

    assert tokens.verify(first).token_id != tokens.verify(second).token_id
    assert tokens.verify_mfa(tokens.issue_mfa(user_id)).token_id != tokens.verify(first).token_id


def test_an_mfa_token_lives_five_minutes_and_opens_no_session(
    tokens: JwtTokenService, clock: FakeClock
) -> None:
    user_id = new_id()

    token = tokens.issue_mfa(user_id)
    claims = tokens.verify_mfa(token)

    assert claims.subject == user_id
    assert claims.expires_at == clock.now() + timedelta(seconds=MFA_TOKEN_TTL_SECONDS)
    assert MFA_TOKEN_TTL_SECONDS == 300
    assert claims_of(token)["type"] == "mfa"
    assert "sid" not in claims_of(token)


def test_each_kind_is_refused_as_the_other(tokens: JwtTokenService) -> None:
    user_id = new_id()
    access = tokens.issue(user_id, new_id()).token
    mfa = tokens.issue_mfa(user_id)

    with pytest.raises(InvalidTokenError):
        tokens.verify(mfa)
    with pytest.raises(InvalidTokenError):
        tokens.verify_mfa(access)


def _claims(clock: FakeClock, **overrides: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    claims: dict[str, Any] = {
        "sub": str(new_id()),
        "sid": str(new_id()),
        "iat": now,
        "nbf": now,
        "exp": now + 60,
        "jti": "token-id",
        "type": "access",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda c: jwt.encode(_claims(c), key=None, algorithm="none"), id="alg-none"),
        pytest.param(lambda c: signed(_claims(c), key="another-key-" * 4), id="another-key"),
        pytest.param(lambda c: signed(_claims(c), algorithm="HS512"), id="another-algorithm"),
        pytest.param(lambda c: signed(_claims(c, exp=int(c.now().timestamp()) - 1)), id="expired"),
        pytest.param(
            lambda c: signed(_claims(c, nbf=int(c.now().timestamp()) + 3600)), id="not-yet-valid"
        ),
        pytest.param(lambda c: signed(_claims(c, jti=None)), id="no-token-id"),
        pytest.param(lambda c: signed(_claims(c, type=None)), id="no-type"),
        pytest.param(lambda c: signed(_claims(c, type="refresh")), id="refresh-type"),
        pytest.param(lambda c: signed(_claims(c, sid=None)), id="no-session"),
        pytest.param(lambda c: signed(_claims(c, sid="not-a-uuid")), id="bad-session"),
        pytest.param(lambda c: signed(_claims(c, sub="not-a-uuid")), id="bad-subject"),
        pytest.param(lambda c: signed(_claims(c, sub=None)), id="no-subject"),
        pytest.param(lambda c: "not.a.jwt", id="garbage"),
        pytest.param(lambda c: "", id="empty"),
    ],
)
def test_forged_malformed_and_stale_access_tokens_are_refused(
    tokens: JwtTokenService, clock: FakeClock, make_token: Any
) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(make_token(clock))


def test_a_flipped_signature_byte_is_refused(tokens: JwtTokenService) -> None:
    header, payload, signature = tokens.issue(new_id(), new_id()).token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]

    with pytest.raises(InvalidTokenError):
        tokens.verify(f"{header}.{payload}.{flipped}")


@pytest.mark.parametrize("subject", ["not-a-uuid", None])
def test_an_mfa_token_without_a_valid_subject_is_refused(
    tokens: JwtTokenService, clock: FakeClock, subject: str | None
) -> None:
    token = signed(_claims(clock, sub=subject, sid=None, type="mfa"))

    with pytest.raises(InvalidTokenError):
        tokens.verify_mfa(token)


def test_an_expired_mfa_token_is_refused(tokens: JwtTokenService, clock: FakeClock) -> None:
    clock.advance(timedelta(seconds=-(MFA_TOKEN_TTL_SECONDS + 1)))
    stale = tokens.issue_mfa(new_id())  # issued five minutes and a second ago

    with pytest.raises(InvalidTokenError):
        tokens.verify_mfa(stale)
