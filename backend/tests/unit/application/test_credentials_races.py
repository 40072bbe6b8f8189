"""Credential use cases when another request gets in between: the account changed or vanished
after it was read, a twin request spent the same token, an account switched off meanwhile."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import pyotp
import pytest

from app.application.request_context import RequestContext
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionPolicy, SessionTokens
from app.application.use_cases.credentials.change_password import ChangePassword
from app.application.use_cases.credentials.complete_mfa_login import CompleteMfaLogin
from app.application.use_cases.credentials.disable_mfa import DisableMfa
from app.application.use_cases.credentials.enable_mfa import EnableMfa
from app.application.use_cases.credentials.request_password_reset import RequestPasswordReset
from app.application.use_cases.credentials.reset_password import ResetPassword
from app.application.use_cases.credentials.send_email_verification import SendEmailVerification
from app.application.use_cases.credentials.set_up_mfa import SetUpMfa
from app.application.use_cases.credentials.verify_email import VerifyEmail
from app.domain.entities.credentials import (
    InvalidMfaCodeError,
    InvalidOneTimeTokenError,
    MfaAlreadyEnabledError,
    WrongPasswordOrCodeError,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.errors import DomainError
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeAccessTokenService,
    FakeClock,
    FakeCredentialAttempts,
    FakePasswordHasher,
    FakePasswordStrengthChecker,
    FakeTokenDenyList,
    FakeUnitOfWork,
    FakeUserRepository,
)
from tests.unit.application.test_credentials_use_cases import RecordingMail, link_token

CONTEXT = RequestContext(ip="192.0.2.45", request_id="req-race")
NEW_PASSWORD = "an entirely new passphrase"
BOX = AesGcmSecretBox(MasterKeyRing({"k": b"k" * 32}, "k"))
TOTP = PyotpAuthenticator("Strata")


class MeddledUsers(FakeUserRepository):
    """Once armed, the next `get` meets another request: "change" answers the row, then that
    request changes it and commits (between this read and the caller's write); "delete" finds
    the account already deleted by it."""

    meddle: str | None = None

    async def get(self, user_id: UUID) -> User | None:
        meddle, self.meddle = self.meddle, None
        if meddle == "delete":
            self._committed.pop(user_id, None)
            self._rows().pop(user_id, None)
        user = await super().get(user_id)
        if user is not None and meddle == "change":
            self.commit_elsewhere(user.changed(user.updated_at, full_name="Changed Elsewhere"))
        return user


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def users() -> MeddledUsers:
    return MeddledUsers()


@pytest.fixture
def alice(users: MeddledUsers) -> User:
    user = make_user(email="alice@example.com", password=DEFAULT_PASSWORD)
    users.seed(user)
    return user


@pytest.fixture
def uow(users: MeddledUsers, alice: User) -> FakeUnitOfWork:
    return FakeUnitOfWork(users=users)


@pytest.fixture
def second_factor(clock: FakeClock) -> SecondFactor:
    return SecondFactor(TOTP, BOX, clock)


@pytest.fixture
def sessions(clock: FakeClock) -> SessionTokens:
    return SessionTokens(FakeAccessTokenService(clock), clock, SessionPolicy(timedelta(days=1), 10))


async def mfa_on(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, second_factor: SecondFactor
) -> tuple[pyotp.TOTP, list[str]]:
    setup = await SetUpMfa(uow, TOTP, BOX, clock).execute(alice)
    totp = pyotp.TOTP(setup.secret)
    codes = await EnableMfa(uow, second_factor, clock).execute(alice, totp.at(clock.now()), CONTEXT)
    clock.advance(timedelta(seconds=30))  # the next step's code is fresh
    return totp, codes


def current(uow: FakeUnitOfWork, alice: User) -> User:
    user = uow.fake_users.committed_row(alice.id)
    assert user is not None
    return user


async def raises_after_meddling(
    users: MeddledUsers,
    meddle: str,
    error: type[DomainError],
    action: Callable[[], Awaitable[object]],
) -> None:
    users.meddle = meddle
    with pytest.raises(error):
        await action()


@pytest.mark.parametrize(
    ("meddle", "error"),
    [("change", UserChangedConcurrentlyError), ("delete", InvalidOneTimeTokenError)],
)
async def test_verifying_an_email_of_an_account_changed_meanwhile(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    meddle: str,
    error: type[DomainError],
) -> None:
    mail = RecordingMail()
    await SendEmailVerification(uow, mail, clock, verify_url="v?token=").execute(alice.id)
    token = link_token(mail.sent[0])

    await raises_after_meddling(
        users, meddle, error, lambda: VerifyEmail(uow, clock).execute(token)
    )

    if meddle == "change":  # rolled back: the link still works
        await VerifyEmail(uow, clock).execute(token)
        assert current(uow, alice).email_verified is True


async def test_a_verification_link_spent_by_a_twin_request(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    await SendEmailVerification(uow, mail, clock, verify_url="v?token=").execute(alice.id)
    token = link_token(mail.sent[0])
    [stored] = uow.fake_one_time_tokens.committed

    original_get = uow.fake_one_time_tokens.get

    async def get_then_twin_spends(token_id: UUID) -> object:
        found = await original_get(token_id)
        uow.fake_one_time_tokens.commit_elsewhere(
            stored.model_copy(update={"used_at": clock.now()})
        )
        return found

    uow.fake_one_time_tokens.get = get_then_twin_spends  # type: ignore[method-assign]

    with pytest.raises(InvalidOneTimeTokenError):
        await VerifyEmail(uow, clock).execute(token)
    assert current(uow, alice).email_verified is False


@pytest.mark.parametrize(
    ("meddle", "error"),
    [("change", UserChangedConcurrentlyError), ("delete", UserNotFoundError)],
)
async def test_mfa_set_up_and_enable_on_an_account_changed_meanwhile(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    meddle: str,
    error: type[DomainError],
) -> None:
    set_up = SetUpMfa(uow, TOTP, BOX, clock)
    await raises_after_meddling(users, meddle, error, lambda: set_up.execute(alice))
    if meddle == "delete":
        return
    setup = await set_up.execute(alice)
    code = pyotp.TOTP(setup.secret).at(clock.now())
    enable = EnableMfa(uow, second_factor, clock)

    await raises_after_meddling(users, meddle, error, lambda: enable.execute(alice, code, CONTEXT))

    assert current(uow, alice).mfa_enabled is False
    assert uow.fake_recovery_codes.unused == {}
    await enable.execute(alice, code, CONTEXT)
    with pytest.raises(MfaAlreadyEnabledError):
        await enable.execute(alice, code, CONTEXT)


async def test_enabling_an_account_deleted_meanwhile(
    uow: FakeUnitOfWork, users: MeddledUsers, clock: FakeClock, alice: User
) -> None:
    enable = EnableMfa(uow, SecondFactor(TOTP, BOX, clock), clock)
    await raises_after_meddling(
        users, "delete", UserNotFoundError, lambda: enable.execute(alice, "123456", CONTEXT)
    )


@pytest.mark.parametrize(
    ("meddle", "error"),
    [("change", UserChangedConcurrentlyError), ("delete", UserNotFoundError)],
)
async def test_disabling_mfa_on_an_account_changed_meanwhile(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    meddle: str,
    error: type[DomainError],
) -> None:
    _, codes = await mfa_on(uow, clock, alice, second_factor)
    disable = DisableMfa(uow, FakePasswordHasher(), second_factor, clock)

    await raises_after_meddling(
        users,
        meddle,
        error,
        lambda: disable.execute(alice, password=DEFAULT_PASSWORD, code=codes[0], context=CONTEXT),
    )

    if meddle == "change":  # rolled back: MFA still on, and the recovery code still works
        assert current(uow, alice).mfa_enabled is True
        await disable.execute(alice, password=DEFAULT_PASSWORD, code=codes[0], context=CONTEXT)


async def test_a_totp_code_raced_by_another_request_counts_once(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
) -> None:
    totp, _ = await mfa_on(uow, clock, alice, second_factor)
    disable = DisableMfa(uow, FakePasswordHasher(), second_factor, clock)

    await raises_after_meddling(
        users,
        "change",
        WrongPasswordOrCodeError,
        lambda: disable.execute(
            alice, password=DEFAULT_PASSWORD, code=totp.at(clock.now()), context=CONTEXT
        ),
    )


@pytest.mark.parametrize(
    ("meddle", "error"),
    [("change", UserChangedConcurrentlyError), ("delete", UserNotFoundError)],
)
async def test_changing_the_password_of_an_account_changed_meanwhile(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
    meddle: str,
    error: type[DomainError],
) -> None:
    hasher = FakePasswordHasher()
    change = ChangePassword(
        uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), second_factor, sessions, clock
    )

    await raises_after_meddling(
        users,
        meddle,
        error,
        lambda: change.execute(
            alice,
            current_password=DEFAULT_PASSWORD,
            new_password=NEW_PASSWORD,
            code=None,
            current_session_id=alice.id,
            context=CONTEXT,
        ),
    )

    if meddle == "change":
        assert await hasher.verify(DEFAULT_PASSWORD, current(uow, alice).password_hash)


@pytest.mark.parametrize(
    ("meddle", "error"),
    [("change", UserChangedConcurrentlyError), ("delete", InvalidOneTimeTokenError)],
)
async def test_resetting_the_password_of_an_account_changed_meanwhile(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    sessions: SessionTokens,
    meddle: str,
    error: type[DomainError],
) -> None:
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(alice.email)
    token = link_token(mail.sent[0])
    reset = ResetPassword(
        uow, FakePasswordHasher(), PasswordPolicy(FakePasswordStrengthChecker()), sessions, clock
    )
    original_get = users.get
    reads = 0

    async def meddle_on_the_second_read(user_id: UUID) -> User | None:
        nonlocal reads
        reads += 1
        if reads == 2:  # the read inside the writing transaction
            users.meddle = meddle
        return await original_get(user_id)

    users.get = meddle_on_the_second_read  # type: ignore[method-assign]

    with pytest.raises(error):
        await reset.execute(token, NEW_PASSWORD, CONTEXT)

    if meddle == "change":  # rolled back: the link still works
        users.get = original_get  # type: ignore[method-assign]
        await reset.execute(token, NEW_PASSWORD, CONTEXT)


async def test_a_reset_link_of_a_deactivated_account_is_refused(
    uow: FakeUnitOfWork, users: MeddledUsers, clock: FakeClock, alice: User, sessions: SessionTokens
) -> None:
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(alice.email)
    users.seed(alice.changed(clock.now(), is_active=False))
    reset = ResetPassword(
        uow, FakePasswordHasher(), PasswordPolicy(FakePasswordStrengthChecker()), sessions, clock
    )

    with pytest.raises(InvalidOneTimeTokenError):
        await reset.execute(link_token(mail.sent[0]), NEW_PASSWORD, CONTEXT)


async def test_a_reset_link_spent_by_a_twin_request(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, sessions: SessionTokens
) -> None:
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(alice.email)
    [stored] = uow.fake_one_time_tokens.committed
    hasher = FakePasswordHasher()
    original_hash = hasher.hash

    async def hash_while_a_twin_spends_the_link(password: str) -> str:
        uow.fake_one_time_tokens.commit_elsewhere(
            stored.model_copy(update={"used_at": clock.now()})
        )
        return await original_hash(password)

    hasher.hash = hash_while_a_twin_spends_the_link  # type: ignore[method-assign]
    reset = ResetPassword(
        uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), sessions, clock
    )

    with pytest.raises(InvalidOneTimeTokenError):
        await reset.execute(link_token(mail.sent[0]), NEW_PASSWORD, CONTEXT)
    assert current(uow, alice).password_hash == alice.password_hash


@pytest.mark.parametrize("switch_off", ["is_active", "mfa_enabled"])
async def test_an_mfa_login_for_an_account_switched_off_meanwhile_fails(
    uow: FakeUnitOfWork,
    users: MeddledUsers,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
    switch_off: str,
) -> None:
    _, codes = await mfa_on(uow, clock, alice, second_factor)
    tokens = FakeAccessTokenService(clock)
    mfa_token = tokens.issue_mfa(alice.id)
    users.seed(current(uow, alice).changed(clock.now(), **{switch_off: False}))
    complete = CompleteMfaLogin(
        uow,
        tokens,
        FakeTokenDenyList(clock),
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
    )

    with pytest.raises(InvalidMfaCodeError):
        await complete.execute(mfa_token, codes[0], CONTEXT)
    assert uow.fake_sessions.committed == []
