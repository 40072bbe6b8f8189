"""Logging in and authenticating bearer tokens."""

from __future__ import annotations

import pytest

from app.application.use_cases.auth.authenticate import Authenticate
from app.application.use_cases.auth.log_in import LogIn
from app.domain.entities.user import User
from app.domain.errors import InvalidCredentialsError, InvalidTokenError
from tests.fakes import (
    FakeAccessTokenService,
    FakeClock,
    FakePasswordHasher,
    FakeUnitOfWork,
    make_user,
)

PASSWORD = "a long and unguessable passphrase"


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com", password=PASSWORD)


@pytest.fixture
def uow(alice: User) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice)
    return uow


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def tokens() -> FakeAccessTokenService:
    return FakeAccessTokenService(FakeClock())


@pytest.fixture
def log_in(
    uow: FakeUnitOfWork, hasher: FakePasswordHasher, tokens: FakeAccessTokenService
) -> LogIn:
    return LogIn(uow, hasher, tokens)


# ---------------------------------------------------------------- LogIn


@pytest.mark.parametrize("email", ["alice@example.com", "  ALICE@Example.com "])
async def test_log_in_returns_the_token_issued_for_the_user(
    log_in: LogIn, tokens: FakeAccessTokenService, alice: User, email: str
) -> None:
    token = await log_in.execute(email, PASSWORD)

    assert tokens.issued == [alice.id]
    assert tokens.verify(token.token).subject == alice.id


async def test_log_in_refuses_a_wrong_password(
    log_in: LogIn, tokens: FakeAccessTokenService, hasher: FakePasswordHasher
) -> None:
    with pytest.raises(InvalidCredentialsError):
        await log_in.execute("alice@example.com", "not the right passphrase")

    assert tokens.issued == []
    assert hasher.verified == ["not the right passphrase"]


@pytest.mark.parametrize("email", ["bob@example.com", "not an e-mail", ""])
async def test_log_in_refuses_an_unknown_email_but_still_spends_hashing_time(
    log_in: LogIn, tokens: FakeAccessTokenService, hasher: FakePasswordHasher, email: str
) -> None:
    with pytest.raises(InvalidCredentialsError):
        await log_in.execute(email, PASSWORD)

    assert hasher.burned == [PASSWORD]
    assert tokens.issued == []


async def test_log_in_refuses_an_inactive_user_with_the_right_password(
    alice: User, hasher: FakePasswordHasher, tokens: FakeAccessTokenService
) -> None:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice.model_copy(update={"is_active": False}))

    with pytest.raises(InvalidCredentialsError):
        await LogIn(uow, hasher, tokens).execute("alice@example.com", PASSWORD)

    assert tokens.issued == []
    assert hasher.verified == [PASSWORD]  # the same work as a wrong password, so the same time


async def test_log_in_failures_cannot_be_told_apart(log_in: LogIn) -> None:
    with pytest.raises(InvalidCredentialsError) as unknown:
        await log_in.execute("bob@example.com", PASSWORD)
    with pytest.raises(InvalidCredentialsError) as wrong:
        await log_in.execute("alice@example.com", "not the right passphrase")

    assert type(unknown.value) is type(wrong.value)
    assert (unknown.value.code, unknown.value.params) == (wrong.value.code, wrong.value.params)


async def test_log_in_changes_nothing(log_in: LogIn, uow: FakeUnitOfWork) -> None:
    await log_in.execute("alice@example.com", PASSWORD)

    assert uow.committed == 0


# ---------------------------------------------------------------- Authenticate


async def test_authenticate_returns_the_user_the_token_speaks_for(
    uow: FakeUnitOfWork, tokens: FakeAccessTokenService, alice: User
) -> None:
    token = tokens.issue(alice.id)

    assert await Authenticate(uow, tokens).execute(token.token) == alice


async def test_authenticate_refuses_a_token_it_cannot_verify(
    uow: FakeUnitOfWork, tokens: FakeAccessTokenService
) -> None:
    with pytest.raises(InvalidTokenError):
        await Authenticate(uow, tokens).execute("forged-token")


async def test_authenticate_refuses_a_token_of_a_user_that_no_longer_exists(
    tokens: FakeAccessTokenService, alice: User
) -> None:
    token = tokens.issue(alice.id)

    with pytest.raises(InvalidTokenError):
        await Authenticate(FakeUnitOfWork(), tokens).execute(token.token)


async def test_authenticate_refuses_a_token_of_an_inactive_user(
    tokens: FakeAccessTokenService, alice: User
) -> None:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice.model_copy(update={"is_active": False}))
    token = tokens.issue(alice.id)

    with pytest.raises(InvalidTokenError):
        await Authenticate(uow, tokens).execute(token.token)
