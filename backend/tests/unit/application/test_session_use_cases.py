"""Logging in, authenticating bearer tokens, refreshing, logging out, and managing sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.application.errors import DependencyUnavailableError
from app.application.request_context import RequestContext
from app.application.services.session import SessionPolicy, SessionTokens, TokenPair
from app.application.use_cases.session.authenticate import Authenticate
from app.application.use_cases.session.list_sessions import ListSessions
from app.application.use_cases.session.log_in import LogIn, MfaChallenge
from app.application.use_cases.session.log_out import LogOut
from app.application.use_cases.session.refresh_session import RefreshSession
from app.application.use_cases.session.revoke_session import RevokeSession
from app.domain.entities.audit import AuditOutcome
from app.domain.entities.session import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    InvalidTokenError,
    SessionNotFoundError,
)
from app.domain.entities.user import User
from app.domain.value_objects.password import normalize_password
from tests.builders import make_user
from tests.fakes import (
    FakeAccessTokenService,
    FakeClock,
    FakePasswordHasher,
    FakeTokenDenyList,
    FakeUnitOfWork,
)

PASSWORD = "a long and unguessable passphrase"
CONTEXT = RequestContext(ip="203.0.113.7", user_agent="pytest/1.0", request_id="req-1")
MAX_SESSIONS = 3
REFRESH_LIFETIME = timedelta(days=30)


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def uow(alice: User) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice)
    return uow


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def tokens(clock: FakeClock) -> FakeAccessTokenService:
    return FakeAccessTokenService(clock)


@pytest.fixture
def deny_list(clock: FakeClock) -> FakeTokenDenyList:
    return FakeTokenDenyList(clock)


@pytest.fixture
def sessions(tokens: FakeAccessTokenService, clock: FakeClock) -> SessionTokens:
    return SessionTokens(tokens, clock, SessionPolicy(REFRESH_LIFETIME, MAX_SESSIONS))


@pytest.fixture
def log_in(
    uow: FakeUnitOfWork,
    hasher: FakePasswordHasher,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
) -> LogIn:
    return LogIn(uow, hasher, sessions, tokens, clock)


@pytest.fixture
def authenticate(
    uow: FakeUnitOfWork,
    tokens: FakeAccessTokenService,
    deny_list: FakeTokenDenyList,
    clock: FakeClock,
) -> Authenticate:
    return Authenticate(uow, tokens, deny_list, clock)


@pytest.fixture
def refresh(uow: FakeUnitOfWork, sessions: SessionTokens, clock: FakeClock) -> RefreshSession:
    return RefreshSession(uow, sessions, clock)


async def logged_in(log_in: LogIn) -> TokenPair:
    result = await log_in.execute("alice@example.com", PASSWORD, CONTEXT)
    assert isinstance(result, TokenPair)
    return result


# ---------------------------------------------------------------- LogIn


@pytest.mark.parametrize("email", ["alice@example.com", "  ALICE@Example.com "])
async def test_log_in_starts_a_session_and_returns_its_tokens(
    log_in: LogIn,
    tokens: FakeAccessTokenService,
    uow: FakeUnitOfWork,
    alice: User,
    email: str,
) -> None:
    pair = await log_in.execute(email, PASSWORD, CONTEXT)

    assert isinstance(pair, TokenPair)
    claims = tokens.verify(pair.access_token)
    assert (claims.subject, claims.session_id) == (alice.id, pair.session_id)
    [session] = uow.fake_sessions.committed
    assert (session.id, session.user_id) == (pair.session_id, alice.id)
    assert (session.ip, session.user_agent) == (CONTEXT.ip, CONTEXT.user_agent)
    assert PASSWORD not in pair.refresh_token
    assert pair.refresh_token.split(".", 1)[1] not in session.refresh_token_hash  # only the hash
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.actor_id, event.outcome) == ("auth.login", alice.id, "success")
    assert (event.ip, event.request_id) == (CONTEXT.ip, CONTEXT.request_id)


async def test_log_in_refuses_a_wrong_password_and_audits_the_failure(
    log_in: LogIn, tokens: FakeAccessTokenService, uow: FakeUnitOfWork, alice: User
) -> None:
    with pytest.raises(InvalidCredentialsError):
        await log_in.execute("alice@example.com", "not the right passphrase", CONTEXT)

    assert tokens.issued == []
    assert uow.fake_sessions.committed == []
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.outcome, event.actor_id) == (
        "auth.login",
        AuditOutcome.FAILURE,
        alice.id,
    )
    assert "not the right passphrase" not in event.model_dump_json()


@pytest.mark.parametrize("email", ["bob@example.com", "not an e-mail", ""])
async def test_log_in_refuses_an_unknown_email_but_still_spends_hashing_time(
    log_in: LogIn, hasher: FakePasswordHasher, uow: FakeUnitOfWork, email: str
) -> None:
    with pytest.raises(InvalidCredentialsError):
        await log_in.execute(email, PASSWORD, CONTEXT)

    assert hasher.burned == [PASSWORD]
    [event] = uow.fake_audit_events.committed
    assert (event.actor_id, event.outcome) == (None, AuditOutcome.FAILURE)
    assert email.strip() == "" or email not in event.model_dump_json()


async def test_log_in_refuses_an_inactive_user_with_the_right_password(
    log_in: LogIn, uow: FakeUnitOfWork, hasher: FakePasswordHasher, alice: User
) -> None:
    uow.fake_users.seed(alice.model_copy(update={"is_active": False}))

    with pytest.raises(InvalidCredentialsError):
        await log_in.execute("alice@example.com", PASSWORD, CONTEXT)

    assert hasher.verified == [PASSWORD]  # the same work as a wrong password, so the same time
    assert uow.fake_sessions.committed == []


async def test_log_in_failures_cannot_be_told_apart(log_in: LogIn) -> None:
    with pytest.raises(InvalidCredentialsError) as unknown:
        await log_in.execute("bob@example.com", PASSWORD, CONTEXT)
    with pytest.raises(InvalidCredentialsError) as wrong:
        await log_in.execute("alice@example.com", "not the right passphrase", CONTEXT)

    assert type(unknown.value) is type(wrong.value)
    assert (unknown.value.code, unknown.value.params) == (wrong.value.code, wrong.value.params)


async def test_log_in_with_mfa_on_returns_only_a_challenge(
    log_in: LogIn, uow: FakeUnitOfWork, tokens: FakeAccessTokenService, alice: User
) -> None:
    uow.fake_users.seed(alice.model_copy(update={"mfa_enabled": True}))

    result = await log_in.execute("alice@example.com", PASSWORD, CONTEXT)

    assert isinstance(result, MfaChallenge)
    assert tokens.verify_mfa(result.mfa_token).subject == alice.id
    assert tokens.issued == []
    assert uow.fake_sessions.committed == []
    with pytest.raises(InvalidTokenError):
        tokens.verify(result.mfa_token)


async def test_the_session_cap_evicts_the_oldest(
    log_in: LogIn, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    pairs = []
    for _ in range(MAX_SESSIONS + 2):
        pairs.append(await logged_in(log_in))
        clock.advance()

    kept = {session.id for session in uow.fake_sessions.committed}
    assert kept == {pair.session_id for pair in pairs[-MAX_SESSIONS:]}


async def test_log_in_forgets_expired_sessions(
    log_in: LogIn, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    first = await logged_in(log_in)
    clock.advance(REFRESH_LIFETIME + timedelta(seconds=1))
    second = await logged_in(log_in)

    assert [s.id for s in uow.fake_sessions.committed] == [second.session_id]
    assert first.session_id != second.session_id


# ---------------------------------------------------------------- LogIn: normalized passwords

COMPOSED = "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e"
DECOMPOSED = "cafe\u0301 cre\u0300me bru\u0302le\u0301e"  # the same, typed on another device


class NormalizingHasher(FakePasswordHasher):
    """The port's contract, as the Argon2 adapter keeps it: NFKC on every hash and check, and
    the password as typed accepted for a hash made before passwords were normalized."""

    async def hash(self, password: str) -> str:
        return await super().hash(normalize_password(password))

    async def verify(self, password: str, password_hash: str) -> bool:
        normalized = normalize_password(password)
        if await super().verify(normalized, password_hash):
            return True
        return normalized != password and await super().verify(password, password_hash)


def log_in_with(hasher: FakePasswordHasher, uow: FakeUnitOfWork, clock: FakeClock) -> LogIn:
    tokens = FakeAccessTokenService(clock)
    sessions = SessionTokens(tokens, clock, SessionPolicy(REFRESH_LIFETIME, MAX_SESSIONS))
    return LogIn(uow, hasher, sessions, tokens, clock)


def seeded(uow: FakeUnitOfWork, typed_when_set: str, **changes: object) -> User:
    """Bob, whose stored hash was made by an earlier version from `typed_when_set` as is."""
    user = make_user(email="bob@example.com", password=typed_when_set)
    user = user.model_copy(update=changes)
    uow.fake_users.seed(user)
    return user


async def test_a_legacy_hash_opens_with_the_password_as_typed_and_is_rehashed_normalized(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    user = seeded(uow, DECOMPOSED)
    log_in = log_in_with(NormalizingHasher(), uow, clock)
    clock.advance(timedelta(minutes=5))

    assert isinstance(await log_in.execute("bob@example.com", DECOMPOSED, CONTEXT), TokenPair)

    stored = uow.fake_users.committed_row(user.id)
    assert stored is not None
    assert stored.password_hash == FakePasswordHasher.PREFIX + COMPOSED
    assert (stored.version, stored.updated_at) == (user.version + 1, clock.now())
    # Now either form opens, from any device.
    for typed in (COMPOSED, DECOMPOSED):
        assert isinstance(await log_in.execute("bob@example.com", typed, CONTEXT), TokenPair)
    assert uow.fake_users.committed_row(user.id) == stored  # rehashed once only


async def test_a_normalized_hash_is_never_rehashed(uow: FakeUnitOfWork, clock: FakeClock) -> None:
    user = seeded(uow, COMPOSED)  # NFKC keeps composed letters: as good as a new hash
    hasher = NormalizingHasher()
    log_in = log_in_with(hasher, uow, clock)

    for typed in (DECOMPOSED, COMPOSED):
        assert isinstance(await log_in.execute("bob@example.com", typed, CONTEXT), TokenPair)

    assert uow.fake_users.committed_row(user.id) == user
    assert hasher.hashed == []


async def test_a_wrong_password_against_a_legacy_hash_changes_nothing(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    user = seeded(uow, DECOMPOSED)
    log_in = log_in_with(NormalizingHasher(), uow, clock)

    for wrong in (COMPOSED, DECOMPOSED + "x", "cafe creme brulee"):
        with pytest.raises(InvalidCredentialsError):
            await log_in.execute("bob@example.com", wrong, CONTEXT)

    assert uow.fake_users.committed_row(user.id) == user


async def test_a_legacy_hash_is_rehashed_even_when_a_second_factor_follows(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    user = seeded(uow, DECOMPOSED, mfa_enabled=True)
    log_in = log_in_with(NormalizingHasher(), uow, clock)

    assert isinstance(await log_in.execute("bob@example.com", DECOMPOSED, CONTEXT), MfaChallenge)

    stored = uow.fake_users.committed_row(user.id)
    assert stored is not None
    assert stored.password_hash == FakePasswordHasher.PREFIX + COMPOSED
    assert stored.mfa_enabled


async def test_a_rehash_that_loses_a_race_is_dropped_and_the_login_still_succeeds(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    user = seeded(uow, DECOMPOSED)
    hasher = NormalizingHasher()
    log_in = log_in_with(hasher, uow, clock)
    changed_meanwhile = user.changed(clock.now(), password_hash=FakePasswordHasher.PREFIX + "new")
    original_hash = hasher.hash

    async def password_changed_while_hashing(password: str) -> str:
        uow.fake_users.commit_elsewhere(changed_meanwhile)  # e.g. a password reset
        return await original_hash(password)

    hasher.hash = password_changed_while_hashing  # type: ignore[method-assign]

    assert isinstance(await log_in.execute("bob@example.com", DECOMPOSED, CONTEXT), TokenPair)

    assert uow.fake_users.committed_row(user.id) == changed_meanwhile


# ---------------------------------------------------------------- Authenticate


async def test_authenticate_returns_the_user_and_claims_of_a_live_session(
    log_in: LogIn, authenticate: Authenticate, alice: User
) -> None:
    pair = await logged_in(log_in)

    user, claims = await authenticate.execute_with_claims(pair.access_token)

    assert user == alice
    assert claims.session_id == pair.session_id
    assert await authenticate.execute(pair.access_token) == alice


async def test_authenticate_refuses_a_token_it_cannot_verify(authenticate: Authenticate) -> None:
    with pytest.raises(InvalidTokenError):
        await authenticate.execute("forged-token")


async def test_authenticate_refuses_a_token_whose_session_was_revoked(
    log_in: LogIn, authenticate: Authenticate, uow: FakeUnitOfWork
) -> None:
    pair = await logged_in(log_in)
    async with uow:
        await uow.sessions.delete(pair.session_id)
        await uow.commit()

    with pytest.raises(InvalidTokenError):
        await authenticate.execute(pair.access_token)


async def test_authenticate_refuses_a_denied_token(
    log_in: LogIn, authenticate: Authenticate, deny_list: FakeTokenDenyList, clock: FakeClock
) -> None:
    pair = await logged_in(log_in)
    await deny_list.deny(pair.access_token, until=clock.now() + timedelta(minutes=5))

    with pytest.raises(InvalidTokenError):
        await authenticate.execute(pair.access_token)


async def test_authenticate_fails_closed_when_the_deny_list_is_unreachable(
    log_in: LogIn, authenticate: Authenticate, deny_list: FakeTokenDenyList
) -> None:
    pair = await logged_in(log_in)
    deny_list.unavailable = True

    with pytest.raises(DependencyUnavailableError):
        await authenticate.execute(pair.access_token)


async def test_authenticate_refuses_a_token_of_an_inactive_or_deleted_user(
    log_in: LogIn, authenticate: Authenticate, uow: FakeUnitOfWork, alice: User
) -> None:
    pair = await logged_in(log_in)
    uow.fake_users.seed(alice.model_copy(update={"is_active": False}))

    with pytest.raises(InvalidTokenError):
        await authenticate.execute(pair.access_token)


async def test_authenticate_refuses_an_mfa_token(
    authenticate: Authenticate, tokens: FakeAccessTokenService, alice: User
) -> None:
    with pytest.raises(InvalidTokenError):
        await authenticate.execute(tokens.issue_mfa(alice.id))


# ---------------------------------------------------------------- RefreshSession


async def test_refresh_spends_the_token_and_returns_a_new_pair_of_the_same_session(
    log_in: LogIn, refresh: RefreshSession, authenticate: Authenticate, clock: FakeClock
) -> None:
    first = await logged_in(log_in)
    clock.advance(timedelta(minutes=1))

    second = await refresh.execute(first.refresh_token, CONTEXT)

    assert second.session_id == first.session_id
    assert second.refresh_token != first.refresh_token
    await authenticate.execute(second.access_token)


async def test_refresh_reuse_revokes_the_whole_session(
    log_in: LogIn, refresh: RefreshSession, authenticate: Authenticate, uow: FakeUnitOfWork
) -> None:
    first = await logged_in(log_in)
    second = await refresh.execute(first.refresh_token, CONTEXT)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(first.refresh_token, CONTEXT)  # spent: reuse

    assert uow.fake_sessions.committed == []
    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(second.refresh_token, CONTEXT)  # the family is gone
    with pytest.raises(InvalidTokenError):
        await authenticate.execute(second.access_token)
    assert "auth.refresh_reuse" in uow.fake_audit_events.actions


async def test_a_refresh_racing_another_with_the_same_token_is_reuse(
    log_in: LogIn, refresh: RefreshSession, uow: FakeUnitOfWork
) -> None:
    first = await logged_in(log_in)
    session = uow.fake_sessions.committed[0]
    # Another request spent the token between our read and our write.
    rotated, _ = session.rotated(
        now=session.created_at, lifetime=REFRESH_LIFETIME, user_agent=None, ip=None
    )
    original_rotate = uow.fake_sessions.rotate

    async def spent_meanwhile(candidate: object, *, previous_hash: str) -> bool:
        uow.fake_sessions.commit_elsewhere(rotated)
        return await original_rotate(rotated, previous_hash=previous_hash + "-stale")

    uow.fake_sessions.rotate = spent_meanwhile  # type: ignore[method-assign,assignment]

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(first.refresh_token, CONTEXT)

    assert uow.fake_sessions.committed == []


async def test_a_wrong_secret_for_a_known_session_is_invalid_and_changes_nothing(
    log_in: LogIn, refresh: RefreshSession, authenticate: Authenticate, uow: FakeUnitOfWork
) -> None:
    # The session id is readable in every access token: knowing it must not let anyone revoke it.
    pair = await logged_in(log_in)
    before = list(uow.fake_sessions.committed)
    audited = list(uow.fake_audit_events.actions)

    for wrong in ["garbage", "x" * 200, pair.refresh_token.partition(".")[2][:-1], "é"]:
        with pytest.raises(InvalidRefreshTokenError):
            await refresh.execute(f"{pair.session_id}.{wrong}", CONTEXT)

    assert uow.fake_sessions.committed == before
    assert uow.fake_audit_events.actions == audited
    await authenticate.execute(pair.access_token)
    await refresh.execute(pair.refresh_token, CONTEXT)  # the owner's token still works


async def test_a_wrong_secret_for_an_expired_session_changes_nothing_either(
    log_in: LogIn, refresh: RefreshSession, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    pair = await logged_in(log_in)
    clock.advance(REFRESH_LIFETIME)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(f"{pair.session_id}.garbage", CONTEXT)

    assert len(uow.fake_sessions.committed) == 1  # left to the sweep, not to a stranger


async def test_a_secret_spent_several_rotations_ago_is_still_reuse(
    log_in: LogIn, refresh: RefreshSession, authenticate: Authenticate, uow: FakeUnitOfWork
) -> None:
    first = await logged_in(log_in)
    latest = first
    for _ in range(3):
        latest = await refresh.execute(latest.refresh_token, CONTEXT)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(first.refresh_token, CONTEXT)

    assert uow.fake_sessions.committed == []
    assert uow.fake_audit_events.actions.count("auth.refresh_reuse") == 1
    with pytest.raises(InvalidTokenError):
        await authenticate.execute(latest.access_token)


@pytest.mark.parametrize(
    "token",
    ["", "no-separator", "not-a-uuid.secret", "01900000-0000-7000-8000-000000000000.", "x" * 300],
)
async def test_refresh_refuses_malformed_tokens(refresh: RefreshSession, token: str) -> None:
    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(token, CONTEXT)


async def test_refresh_refuses_an_access_token(
    log_in: LogIn, refresh: RefreshSession, uow: FakeUnitOfWork
) -> None:
    pair = await logged_in(log_in)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(pair.access_token, CONTEXT)

    assert len(uow.fake_sessions.committed) == 1  # nothing revoked by a garbage token


async def test_refresh_refuses_an_expired_session_and_forgets_it(
    log_in: LogIn, refresh: RefreshSession, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    pair = await logged_in(log_in)
    clock.advance(REFRESH_LIFETIME)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(pair.refresh_token, CONTEXT)

    assert uow.fake_sessions.committed == []


async def test_refresh_refuses_a_deactivated_user(
    log_in: LogIn, refresh: RefreshSession, uow: FakeUnitOfWork, alice: User
) -> None:
    pair = await logged_in(log_in)
    uow.fake_users.seed(alice.model_copy(update={"is_active": False}))

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(pair.refresh_token, CONTEXT)


# ---------------------------------------------------------------- LogOut and sessions


async def test_log_out_revokes_the_session_and_denies_the_access_token(
    log_in: LogIn,
    authenticate: Authenticate,
    deny_list: FakeTokenDenyList,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    refresh: RefreshSession,
) -> None:
    pair = await logged_in(log_in)
    user, claims = await authenticate.execute_with_claims(pair.access_token)

    await LogOut(uow, deny_list, clock).execute(user, claims, CONTEXT)

    assert deny_list.denied == {claims.token_id: claims.expires_at}
    assert uow.fake_sessions.committed == []
    with pytest.raises(InvalidTokenError):
        await authenticate.execute(pair.access_token)
    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(pair.refresh_token, CONTEXT)
    assert "auth.logout" in uow.fake_audit_events.actions


async def test_log_out_changes_nothing_when_the_deny_list_is_unreachable(
    log_in: LogIn,
    authenticate: Authenticate,
    deny_list: FakeTokenDenyList,
    uow: FakeUnitOfWork,
    clock: FakeClock,
) -> None:
    pair = await logged_in(log_in)
    user, claims = await authenticate.execute_with_claims(pair.access_token)
    deny_list.unavailable = True

    with pytest.raises(DependencyUnavailableError):
        await LogOut(uow, deny_list, clock).execute(user, claims, CONTEXT)

    assert len(uow.fake_sessions.committed) == 1


async def test_sessions_are_listed_newest_first_and_only_the_callers(
    log_in: LogIn, uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    first = await logged_in(log_in)
    clock.advance()
    second = await logged_in(log_in)
    bob = make_user(email="bob@example.com")

    mine = await ListSessions(uow, clock).execute(alice)
    theirs = await ListSessions(uow, clock).execute(bob)

    assert [s.id for s in mine] == [second.session_id, first.session_id]
    assert theirs == []


async def test_revoke_session_revokes_one_of_the_callers(
    log_in: LogIn, uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    first = await logged_in(log_in)
    second = await logged_in(log_in)

    await RevokeSession(uow, clock).execute(alice, first.session_id, CONTEXT)

    assert [s.id for s in uow.fake_sessions.committed] == [second.session_id]
    assert "session.revoke" in uow.fake_audit_events.actions


async def test_revoke_session_of_someone_else_is_not_found(
    log_in: LogIn, uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    pair = await logged_in(log_in)
    bob = make_user(email="bob@example.com")

    with pytest.raises(SessionNotFoundError):
        await RevokeSession(uow, clock).execute(bob, pair.session_id, CONTEXT)

    assert len(uow.fake_sessions.committed) == 1
