"""The JWT adapter: access and MFA tokens are told apart, and nothing forged or stale passes.

PyJWT checks `exp` and `nbf` against the real time, so the clock here starts at the real now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.entities.session import InvalidTokenError
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters import jwt_tokens
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


# ---------------------------------------------------------------- claims of the wrong type or size
# Only a holder of the signing key can make these, but each must still be a plain refusal
# (InvalidTokenError, a 401), never another exception (a 500).

ABSURD_NUMBERS: list[Any] = [1e30, -1e30, 10**30, -(10**30), 2**63, 2**64 + 1, 1.5, -1, True, False]
WRONG_TYPES: list[Any] = ["123", "", [], [1], {}, {"a": 1}, None, 5.0]


def signed_raw(payload: str, header: str = '{"alg":"HS256","typ":"JWT"}') -> str:
    """A token signed with the right key over exactly `payload` (which json.dumps may not make)."""

    def part(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    signing_input = f"{part(header)}.{part(payload)}"
    signature = hmac.new(KEY.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def with_claim(clock: FakeClock, kind: str, name: str, value: Any) -> str:
    claims = _claims(clock, type=kind, sid=str(new_id()) if kind == "access" else None)
    claims[name] = value  # None here means JSON null, not "left out"
    return signed(claims)


def verify_as(tokens: JwtTokenService, kind: str, token: str) -> object:
    return tokens.verify(token) if kind == "access" else tokens.verify_mfa(token)


@pytest.mark.parametrize("kind", ["access", "mfa"])
@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", ABSURD_NUMBERS + WRONG_TYPES, ids=repr)
def test_a_time_claim_of_an_absurd_value_or_wrong_type_is_refused(
    tokens: JwtTokenService, clock: FakeClock, kind: str, name: str, value: Any
) -> None:
    with pytest.raises(InvalidTokenError):
        verify_as(tokens, kind, with_claim(clock, kind, name, value))


@pytest.mark.parametrize(
    ("kind", "name"),
    [  # an MFA token names no session: its sid is never read
        *(("access", name) for name in ("sub", "sid", "jti", "type")),
        *(("mfa", name) for name in ("sub", "jti", "type")),
    ],
)
@pytest.mark.parametrize(
    "value",
    [*ABSURD_NUMBERS, *(v for v in WRONG_TYPES if v != "123"), "x" * 10_000],
    ids=lambda value: repr(value)[:40],
)
def test_an_identifier_claim_of_a_wrong_type_or_shape_is_refused(
    tokens: JwtTokenService, clock: FakeClock, kind: str, name: str, value: Any
) -> None:
    with pytest.raises(InvalidTokenError):
        verify_as(tokens, kind, with_claim(clock, kind, name, value))


# A fixed identifier: test ids must be the same in every collecting process (pytest-xdist).
SOME_ID = UUID("01a25354-0b17-77a1-8f37-b1c4e73c7779")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(
            (name, shape)
            for name in ("sub", "sid")
            for shape in (
                "123",
                f"{{{SOME_ID}}}",
                f"urn:uuid:{SOME_ID}",
                SOME_ID.hex,
                f" {SOME_ID}",
                str(SOME_ID)[:-1] + "\u0661",  # an Arabic-Indic digit, which int() would take
            )
        ),
        ("type", "ACCESS"),
        ("type", "access "),
        ("type", "mfa"),
    ],
)
def test_an_identifier_of_the_right_type_but_not_its_canonical_shape_is_refused(
    tokens: JwtTokenService, clock: FakeClock, name: str, value: str
) -> None:
    with pytest.raises(InvalidTokenError):
        tokens.verify(with_claim(clock, "access", name, value))


def test_an_uppercase_uuid_is_still_the_same_uuid(
    tokens: JwtTokenService, clock: FakeClock
) -> None:
    user_id = new_id()

    claims = tokens.verify(with_claim(clock, "access", "sub", str(user_id).upper()))

    assert claims.subject == user_id


@pytest.mark.parametrize("kind", ["access", "mfa"])
@pytest.mark.parametrize("name", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999", "-0.0"])
def test_non_finite_numbers_python_would_parse_are_refused(
    tokens: JwtTokenService, clock: FakeClock, kind: str, name: str, literal: str
) -> None:
    claims = _claims(clock, type=kind, sid=str(new_id()) if kind == "access" else None)
    claims[name] = "PLACEHOLDER"
    token = signed_raw(json.dumps(claims).replace('"PLACEHOLDER"', literal))

    with pytest.raises(InvalidTokenError):
        verify_as(tokens, kind, token)


@pytest.mark.parametrize("kind", ["access", "mfa"])
def test_a_token_living_longer_than_its_kind_ever_does_is_refused(
    tokens: JwtTokenService, clock: FakeClock, kind: str
) -> None:
    now = int(clock.now().timestamp())
    lifetime = TTL if kind == "access" else MFA_TOKEN_TTL_SECONDS
    sid = str(new_id()) if kind == "access" else None
    longest = signed(_claims(clock, type=kind, sid=sid, exp=now + lifetime))
    too_long = signed(_claims(clock, type=kind, sid=sid, exp=now + lifetime + 1))
    far_future = signed(_claims(clock, type=kind, sid=sid, exp=253_402_300_799))
    issued_later = signed(_claims(clock, type=kind, sid=sid, iat=now + 3600, exp=now + 3660))

    verify_as(tokens, kind, longest)
    for token in (too_long, far_future, issued_later):
        with pytest.raises(InvalidTokenError):
            verify_as(tokens, kind, token)


@pytest.mark.parametrize(
    "payload",
    ["[1]", "1", '"text"', "null", "{", "[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1"],
    ids=["list", "number", "string", "null", "truncated", "deeply-nested-list", "deep-object"],
)
def test_a_payload_that_is_not_a_claims_object_is_refused(
    tokens: JwtTokenService, payload: str
) -> None:
    for verify in (tokens.verify, tokens.verify_mfa):
        with pytest.raises(InvalidTokenError):
            verify(signed_raw(payload))


@pytest.mark.parametrize(
    "header",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"alg":["HS256"]}',
        '{"alg":"HS256","crit":5}',
        '{"alg":"HS256","kid":' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"alg":"HS256","b64":false,"crit":["b64"]}',
    ],
    ids=["deep-list", "alg-list", "crit-number", "deep-kid", "unencoded-payload"],
)
def test_a_malformed_header_is_refused(
    tokens: JwtTokenService, clock: FakeClock, header: str
) -> None:
    token = signed_raw(json.dumps(_claims(clock)), header=header)

    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


def test_an_oversized_token_is_refused_before_it_is_parsed(
    tokens: JwtTokenService, clock: FakeClock
) -> None:
    token = signed(_claims(clock, padding="x" * 10_000))

    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=5,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(["access", "mfa"]),
    name=st.sampled_from(["exp", "iat", "nbf", "sub", "sid", "jti", "type"]),
    value=JSON_VALUES,
)
def test_whatever_a_claim_holds_the_answer_is_claims_or_a_plain_refusal(
    kind: str, name: str, value: Any
) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    tokens = JwtTokenService(signing_key=KEY, ttl_seconds=TTL, clock=clock)
    claims = _claims(clock, type=kind, sid=str(new_id()) if kind == "access" else None)
    claims[name] = value
    token = signed_raw(json.dumps(claims))

    try:
        verify_as(tokens, kind, token)
    except InvalidTokenError:
        return
    # Accepted: then the claim held something of the kind we issue.
    if name in {"exp", "iat", "nbf"}:
        assert type(value) is int
    elif name == "type":
        assert value == kind
    elif (kind, name) != ("mfa", "sid"):  # an MFA token's sid is never read
        assert isinstance(value, str)
        assert 0 < len(value) <= 64


@settings(max_examples=200, deadline=None)
@given(payload=st.text(max_size=200))
def test_whatever_the_signed_payload_the_answer_is_claims_or_a_plain_refusal(
    payload: str,
) -> None:
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    tokens = JwtTokenService(signing_key=KEY, ttl_seconds=TTL, clock=clock)
    for verify in (tokens.verify, tokens.verify_mfa):
        with pytest.raises(InvalidTokenError):
            verify(signed_raw(payload))


# ---------------------------------------------------------------- remembered verifications


def test_a_verified_access_token_is_answered_again_without_decoding_it(
    tokens: JwtTokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens.issue(new_id(), new_id()).token
    first = tokens.verify(token)
    decoded: list[str] = []
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: decoded.append("decode"))

    assert tokens.verify(token) is first
    assert decoded == []


def test_a_remembered_token_is_refused_once_it_expires(
    tokens: JwtTokenService, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tokens.issue(new_id(), new_id()).token
    expires_at = tokens.verify(token).expires_at.timestamp()
    monkeypatch.setattr(jwt_tokens.time, "time", lambda: expires_at - 1)
    assert tokens.verify(token).expires_at.timestamp() == expires_at  # still valid, remembered
    # At the second it expires, PyJWT's rule refuses it (valid while now < exp); PyJWT reads its
    # own clock, so the memo must not be what answers.
    monkeypatch.setattr(jwt_tokens.time, "time", lambda: expires_at)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime(expires_at))
    with pytest.raises(InvalidTokenError):
        tokens.verify(token)


def test_only_the_exact_token_is_remembered(tokens: JwtTokenService) -> None:
    token = tokens.issue(new_id(), new_id()).token
    tokens.verify(token)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]

    with pytest.raises(InvalidTokenError):
        tokens.verify(f"{header}.{payload}.{flipped}")
    with pytest.raises(InvalidTokenError):
        tokens.verify_mfa(token)  # remembered as an access token, still no MFA token


def test_the_memo_is_bounded(tokens: JwtTokenService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jwt_tokens, "MAX_REMEMBERED_TOKENS", 3)
    issued = [tokens.issue(new_id(), new_id()).token for _ in range(7)]
    for token in issued:
        tokens.verify(token)

    assert 0 < len(tokens._verified) <= 3
    assert issued[-1] in tokens._verified


class _FrozenDatetime:
    """Stands in for PyJWT's `datetime` module attribute: `now()` at a fixed timestamp."""

    def __init__(self, timestamp: float) -> None:
        self._timestamp = timestamp

    def now(self, tz: Any = None) -> datetime:
        return datetime.fromtimestamp(self._timestamp, tz or UTC)

    def __getattr__(self, name: str) -> Any:
        return getattr(datetime, name)
