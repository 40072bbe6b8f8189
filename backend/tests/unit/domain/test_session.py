"""Sessions and their refresh tokens: what the token is made of, rotation, reuse, expiry."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest

from app.domain.entities.session import (
    SPENT_SECRETS_KEPT,
    USER_AGENT_MAX_LENGTH,
    InvalidRefreshTokenError,
    Session,
    parse_refresh_token,
)
from app.domain.value_objects.opaque_token import hash_secret, new_secret, secrets_match
from tests.fakes import DEFAULT_NOW

USER_ID = UUID("01900000-0000-7000-8000-000000000001")
LIFETIME = timedelta(days=30)


def start(**overrides: object) -> tuple[Session, str]:
    values: dict[str, object] = {
        "user_id": USER_ID,
        "now": DEFAULT_NOW,
        "lifetime": LIFETIME,
        "user_agent": "agent",
        "ip": "192.0.2.1",
        **overrides,
    }
    return Session.start(**values)  # type: ignore[arg-type]


def test_a_new_session_keeps_only_the_hash_of_its_refresh_secret() -> None:
    session, token = start()

    session_id, secret = parse_refresh_token(token)

    assert session_id == session.id
    assert session.refresh_token_hash == hash_secret(secret)
    assert secret not in session.model_dump_json()
    assert session.holds(secret)
    assert session.expires_at == DEFAULT_NOW + LIFETIME


def test_rotation_spends_the_old_secret() -> None:
    session, old_token = start()
    later = DEFAULT_NOW + timedelta(days=1)

    rotated, new_token = session.rotated(now=later, lifetime=LIFETIME, user_agent=None, ip=None)

    _, old_secret = parse_refresh_token(old_token)
    _, new_secret_ = parse_refresh_token(new_token)
    assert not rotated.holds(old_secret)
    assert rotated.holds(new_secret_)
    assert (rotated.id, rotated.created_at) == (session.id, session.created_at)
    assert (rotated.last_used_at, rotated.expires_at) == (later, later + LIFETIME)
    assert (rotated.user_agent, rotated.ip) == ("agent", "192.0.2.1")  # kept when not resent


def test_a_session_is_active_until_it_expires() -> None:
    session, _ = start()

    assert session.is_active(DEFAULT_NOW + LIFETIME - timedelta(seconds=1))
    assert not session.is_active(DEFAULT_NOW + LIFETIME)


def test_a_long_user_agent_is_cut() -> None:
    session, _ = start(user_agent="x" * 1000)

    assert session.user_agent == "x" * USER_AGENT_MAX_LENGTH


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("Mozilla/5.0\x1b[31m (X11)\x85\x9b", "Mozilla/5.0[31m (X11)"),
        ("\x00\x7f\x85", None),  # nothing but controls: no user agent at all
        ("curl/8.5\ud800", "curl/8.5"),
    ],
)
def test_a_user_agent_keeps_no_control_character(sent: str, kept: str | None) -> None:
    # A header is written by the client's software, not typed: its controls are dropped, never a
    # reason to refuse a login (and never stored, shown in the session list or exported).
    session, _ = start(user_agent=sent)
    rotated, _ = start()[0].rotated(now=DEFAULT_NOW, lifetime=LIFETIME, user_agent=sent, ip=None)

    assert session.user_agent == kept
    assert rotated.user_agent == (kept or "agent")


def test_controls_are_dropped_before_a_long_user_agent_is_cut() -> None:
    session, _ = start(user_agent="\x1b" * 1000 + "x" * 300)

    assert session.user_agent == "x" * USER_AGENT_MAX_LENGTH


@pytest.mark.parametrize(
    "token", ["", "secret-only", ".secret", "not-a-uuid.secret", f"{USER_ID}.", "x" * 400]
)
def test_malformed_refresh_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidRefreshTokenError):
        parse_refresh_token(token)


def test_secrets_are_random_and_compared_by_hash() -> None:
    first, second = new_secret(), new_secret()

    assert first != second
    assert len(first) >= 43  # 256 bits
    assert secrets_match(first, hash_secret(first))
    assert not secrets_match(second, hash_secret(first))


def secret_of(token: str) -> str:
    return parse_refresh_token(token)[1]


def test_a_rotated_session_remembers_its_spent_secrets_but_not_a_wrong_one() -> None:
    session, first = start()
    later = DEFAULT_NOW + timedelta(minutes=15)
    second_session, second = session.rotated(now=later, lifetime=LIFETIME, user_agent=None, ip=None)
    third_session, third = second_session.rotated(
        now=later, lifetime=LIFETIME, user_agent=None, ip=None
    )

    assert third_session.holds(secret_of(third))
    assert not third_session.spent(secret_of(third))  # the current secret is not spent
    for old in (first, second):
        assert third_session.spent(secret_of(old))
        assert not third_session.holds(secret_of(old))
    for wrong in ("garbage", "", new_secret(), secret_of(third) + "x", "é" * 50, "\ud800"):
        assert not third_session.spent(wrong)
        assert not third_session.holds(wrong)
    assert not session.spent(secret_of(first))  # a new session has spent nothing
    assert secret_of(first) not in third_session.model_dump_json()  # only hashes are kept


def test_the_spent_history_is_bounded_newest_first() -> None:
    session, first = start()
    tokens = [first]
    for _ in range(SPENT_SECRETS_KEPT + 2):
        session, token = session.rotated(
            now=DEFAULT_NOW, lifetime=LIFETIME, user_agent=None, ip=None
        )
        tokens.append(token)

    assert len(session.spent_token_hashes) == SPENT_SECRETS_KEPT
    assert session.spent_token_hashes[0] == hash_secret(secret_of(tokens[-2]))
    remembered = tokens[-1 - SPENT_SECRETS_KEPT : -1]
    forgotten = tokens[: -1 - SPENT_SECRETS_KEPT]
    assert len(forgotten) == 2
    assert all(session.spent(secret_of(token)) for token in remembered)
    assert not any(session.spent(secret_of(token)) for token in forgotten)
