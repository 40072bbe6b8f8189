"""Passwords, one-time tokens and MFA, with fakes (and the real TOTP and sealing adapters, which
are pure computation)."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pyotp
import pytest

from app.application.errors import DependencyUnavailableError, RateLimitedError
from app.application.interfaces.credentials import MailMessage
from app.application.request_context import RequestContext
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionPolicy, SessionTokens, TokenPair
from app.application.use_cases.credentials.change_password import ChangePassword
from app.application.use_cases.credentials.complete_mfa_login import CompleteMfaLogin
from app.application.use_cases.credentials.disable_mfa import DisableMfa
from app.application.use_cases.credentials.enable_mfa import EnableMfa
from app.application.use_cases.credentials.request_password_reset import RequestPasswordReset
from app.application.use_cases.credentials.reset_password import ResetPassword
from app.application.use_cases.credentials.send_email_verification import SendEmailVerification
from app.application.use_cases.credentials.set_up_mfa import SetUpMfa
from app.application.use_cases.credentials.verify_email import VerifyEmail
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.domain.entities.audit import AuditOutcome
from app.domain.entities.credentials import (
    InvalidMfaCodeError,
    InvalidOneTimeTokenError,
    MfaAlreadyEnabledError,
    MfaNotEnabledError,
    MfaSetupMissingError,
    WrongPasswordError,
    WrongPasswordOrCodeError,
    WrongSecondFactorError,
)
from app.domain.entities.session import InvalidTokenError
from app.domain.entities.user import User, WeakPasswordError
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_session, make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeAccessTokenService,
    FakeClock,
    FakeCredentialAttempts,
    FakePasswordHasher,
    FakePasswordStrengthChecker,
    FakeTokenDenyList,
    FakeUnitOfWork,
    personal_data_holders,
)

CONTEXT = RequestContext(ip="192.0.2.44", request_id="req-cred")
NEW_PASSWORD = "an entirely new passphrase"
BOX = AesGcmSecretBox(MasterKeyRing({"k": b"k" * 32}, "k"))


class RecordingMail:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[MailMessage] = []
        self.fail = fail

    async def send(self, message: MailMessage) -> None:
        if self.fail:
            raise ConnectionRefusedError("smtp down")
        self.sent.append(message)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def alice() -> User:
    user = make_user(email="alice@example.com", password=DEFAULT_PASSWORD)
    return user.model_copy(update={"full_name": "Alice Smith"})


@pytest.fixture
def uow(alice: User) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice)
    return uow


@pytest.fixture
def second_factor(clock: FakeClock) -> SecondFactor:
    return SecondFactor(PyotpAuthenticator("Strata"), BOX, clock)


@pytest.fixture
def sessions(clock: FakeClock) -> SessionTokens:
    return SessionTokens(FakeAccessTokenService(clock), clock, SessionPolicy(timedelta(days=1), 10))


def policy() -> PasswordPolicy:
    return PasswordPolicy(FakePasswordStrengthChecker())


def link_token(message: MailMessage) -> str:
    return message.text.split("token=", 1)[1].split()[0]


# ---------------------------------------------------------------- password policy


@pytest.mark.parametrize(
    ("password", "why"),
    [("short", "12"), ("my password is long", "common"), ("alice smith forever", "own name")],
)
async def test_the_policy_refuses_short_common_and_personal_passwords(
    password: str, why: str
) -> None:
    with pytest.raises(WeakPasswordError) as caught:
        await policy().ensure_strong(password, email="alice@example.com", full_name="Alice Smith")
    assert why in caught.value.reason


async def test_the_policy_accepts_a_good_passphrase() -> None:
    await policy().ensure_strong(NEW_PASSWORD, email="alice@example.com", full_name=None)


# ---------------------------------------------------------------- e-mail verification


async def test_verification_mail_and_token(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    await SendEmailVerification(uow, mail, clock, verify_url="https://x/verify?token=").execute(
        alice.id
    )
    token = link_token(mail.sent[0])

    await VerifyEmail(uow, clock).execute(token)

    assert uow.fake_users.committed_row(alice.id).email_verified is True  # type: ignore[union-attr]
    with pytest.raises(InvalidOneTimeTokenError):
        await VerifyEmail(uow, clock).execute(token)


async def test_a_verification_token_expires(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    await SendEmailVerification(uow, mail, clock, verify_url="v?token=").execute(alice.id)
    clock.advance(timedelta(minutes=30))

    with pytest.raises(InvalidOneTimeTokenError):
        await VerifyEmail(uow, clock).execute(link_token(mail.sent[0]))


async def test_a_mail_failure_is_swallowed(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    await SendEmailVerification(
        uow, RecordingMail(fail=True), clock, verify_url="v?token="
    ).execute(alice.id)
    await RequestPasswordReset(uow, RecordingMail(fail=True), clock, reset_url="r?token=").execute(
        alice.email
    )


# ---------------------------------------------------------------- reset and change


async def test_reset_mails_only_existing_active_accounts(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    reset = RequestPasswordReset(uow, mail, clock, reset_url="r?token=")

    for email in ("ghost@example.com", "not an email", ""):
        await reset.execute(email)
    assert mail.sent == []
    await reset.execute("  ALICE@example.com ")
    assert [m.to for m in mail.sent] == [alice.email]


async def test_a_reset_replaces_the_password_revokes_sessions_and_works_once(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, sessions: SessionTokens
) -> None:
    uow.fake_sessions.seed(make_session(user_id=alice.id, now=clock.now()))
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(alice.email)
    token = link_token(mail.sent[0])
    hasher = FakePasswordHasher()
    reset = ResetPassword(uow, hasher, policy(), sessions, clock)

    with pytest.raises(WeakPasswordError):
        await reset.execute(token, "password password", CONTEXT)
    await reset.execute(token, NEW_PASSWORD, CONTEXT)

    stored = uow.fake_users.committed_row(alice.id)
    assert stored is not None
    assert await hasher.verify(NEW_PASSWORD, stored.password_hash)
    assert stored.email_verified is True  # the link proved the inbox
    assert uow.fake_sessions.committed == []
    assert "password.reset" in uow.fake_audit_events.actions
    with pytest.raises(InvalidOneTimeTokenError):
        await reset.execute(token, NEW_PASSWORD, CONTEXT)
    with pytest.raises(InvalidOneTimeTokenError):
        await reset.execute(f"{uuid4()}.secret", NEW_PASSWORD, CONTEXT)


async def test_a_change_needs_the_current_password_and_keeps_this_session(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    sessions: SessionTokens,
    second_factor: SecondFactor,
) -> None:
    mine, other = (make_session(user_id=alice.id, now=clock.now()) for _ in range(2))
    uow.fake_sessions.seed(mine, other)
    change = ChangePassword(uow, FakePasswordHasher(), policy(), second_factor, sessions, clock)

    with pytest.raises(WrongPasswordError):
        await change.execute(
            alice,
            current_password="nope",
            new_password=NEW_PASSWORD,
            code=None,
            current_session_id=mine.id,
            context=CONTEXT,
        )
    await change.execute(
        alice,
        current_password=DEFAULT_PASSWORD,
        new_password=NEW_PASSWORD,
        code=None,
        current_session_id=mine.id,
        context=CONTEXT,
    )

    assert [s.id for s in uow.fake_sessions.committed] == [mine.id]


# ---------------------------------------------------------------- MFA


async def mfa_on(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, second_factor: SecondFactor
) -> tuple[pyotp.TOTP, list[str]]:
    setup = await SetUpMfa(uow, PyotpAuthenticator("Strata"), BOX, clock).execute(alice)
    totp = pyotp.TOTP(setup.secret)
    codes = await EnableMfa(uow, second_factor, clock).execute(alice, totp.at(clock.now()), CONTEXT)
    return totp, codes


async def test_enabling_needs_a_setup_and_a_right_code(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, second_factor: SecondFactor
) -> None:
    enable = EnableMfa(uow, second_factor, clock)
    with pytest.raises(MfaSetupMissingError):
        await enable.execute(alice, "123456", CONTEXT)
    setup = await SetUpMfa(uow, PyotpAuthenticator("Strata"), BOX, clock).execute(alice)
    assert "secret=" in setup.otpauth_uri
    stored = uow.fake_users.committed_row(alice.id)
    assert stored is not None
    assert setup.secret not in (stored.totp_secret_sealed or "")
    with pytest.raises(WrongSecondFactorError):
        await enable.execute(alice, "000000", CONTEXT)

    codes = await enable.execute(alice, pyotp.TOTP(setup.secret).at(clock.now()), CONTEXT)

    assert len(codes) == 10
    with pytest.raises(MfaAlreadyEnabledError):
        await SetUpMfa(uow, PyotpAuthenticator("Strata"), BOX, clock).execute(alice)


async def test_mfa_login_accepts_each_code_once_and_the_neighbouring_steps(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
) -> None:
    totp, codes = await mfa_on(uow, clock, alice, second_factor)
    tokens = FakeAccessTokenService(clock)
    complete = CompleteMfaLogin(
        uow,
        tokens,
        FakeTokenDenyList(clock),
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
    )

    async def login_with(code: str) -> TokenPair:
        return await complete.execute(tokens.issue_mfa(alice.id), code, CONTEXT)

    with pytest.raises(InvalidMfaCodeError):
        await login_with(totp.at(clock.now()))  # spent by enabling
    clock.advance(timedelta(seconds=60))
    with pytest.raises(InvalidMfaCodeError):
        await login_with(totp.at(clock.now() + timedelta(seconds=60)))  # two steps ahead
    previous_step = await login_with(totp.at(clock.now() - timedelta(seconds=30)))
    next_step = await login_with(totp.at(clock.now() + timedelta(seconds=30)))
    recovery = await login_with(codes[3])
    assert previous_step is not None
    assert next_step is not None
    assert recovery is not None
    with pytest.raises(InvalidMfaCodeError):
        await login_with(codes[3])
    logins = [e for e in uow.fake_audit_events.committed if e.action == "auth.login"]
    failures = [e for e in logins if e.outcome is AuditOutcome.FAILURE]
    assert len(logins) == 6
    assert [e.details for e in failures] == [{"step": "mfa"}] * 3
    assert all(e.actor_id == alice.id for e in logins)


async def test_a_successful_mfa_login_spends_its_mfa_token(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
) -> None:
    _, codes = await mfa_on(uow, clock, alice, second_factor)
    tokens = FakeAccessTokenService(clock)
    spent = FakeTokenDenyList(clock)
    complete = CompleteMfaLogin(
        uow,
        tokens,
        spent,
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
    )
    mfa_token = tokens.issue_mfa(alice.id)

    with pytest.raises(InvalidMfaCodeError):
        await complete.execute(mfa_token, "000000", CONTEXT)  # a failure leaves it usable
    await complete.execute(mfa_token, codes[0], CONTEXT)

    with pytest.raises(InvalidTokenError):
        await complete.execute(mfa_token, codes[1], CONTEXT)
    assert len(uow.fake_sessions.committed) == 1


async def test_no_session_starts_when_the_mfa_token_cannot_be_spent(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
) -> None:
    class UnreachableOnWrite(FakeTokenDenyList):
        async def deny(self, token_id: str, *, until: datetime) -> None:
            raise DependencyUnavailableError(retry_after_seconds=5)

    _, codes = await mfa_on(uow, clock, alice, second_factor)
    tokens = FakeAccessTokenService(clock)
    mfa_token = tokens.issue_mfa(alice.id)
    failing = CompleteMfaLogin(
        uow,
        tokens,
        UnreachableOnWrite(clock),
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
    )

    with pytest.raises(DependencyUnavailableError):
        await failing.execute(mfa_token, codes[0], CONTEXT)

    assert uow.fake_sessions.committed == []
    working = CompleteMfaLogin(
        uow,
        tokens,
        FakeTokenDenyList(clock),
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
    )
    await working.execute(mfa_token, codes[0], CONTEXT)  # the code was not spent either


async def test_disabling_needs_the_password_and_a_code(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, second_factor: SecondFactor
) -> None:
    disable = DisableMfa(uow, FakePasswordHasher(), second_factor, clock)
    with pytest.raises(MfaNotEnabledError):
        await disable.execute(alice, password=DEFAULT_PASSWORD, code="123456", context=CONTEXT)
    with pytest.raises(WrongPasswordError):  # MFA off: no code to keep a guess from
        await disable.execute(alice, password="nope", code="123456", context=CONTEXT)
    _, codes = await mfa_on(uow, clock, alice, second_factor)

    with pytest.raises(WrongPasswordOrCodeError):
        await disable.execute(alice, password="nope", code=codes[0], context=CONTEXT)
    with pytest.raises(WrongPasswordOrCodeError):
        await disable.execute(alice, password=DEFAULT_PASSWORD, code="999999", context=CONTEXT)
    await disable.execute(alice, password=DEFAULT_PASSWORD, code=codes[0], context=CONTEXT)

    stored = uow.fake_users.committed_row(alice.id)
    assert stored is not None
    assert (stored.mfa_enabled, stored.totp_secret_sealed) == (False, None)
    assert uow.fake_recovery_codes.unused == {}


# ---------------------------------------------------------------- one answer, shared budgets


async def with_mfa_confirm(
    step: str,
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
    *,
    password: str,
    code: str | None,
    new_password: str = NEW_PASSWORD,
) -> None:
    hasher = FakePasswordHasher()
    if step == "change":
        await ChangePassword(uow, hasher, policy(), second_factor, sessions, clock).execute(
            alice,
            current_password=password,
            new_password=new_password,
            code=code,
            current_session_id=uuid4(),
            context=CONTEXT,
        )
    elif step == "disable":
        await DisableMfa(uow, hasher, second_factor, clock).execute(
            alice, password=password, code=code, context=CONTEXT
        )
    else:
        await EraseMyAccount(uow, personal_data_holders(), hasher, second_factor, clock).execute(
            alice, password, code, CONTEXT
        )


@pytest.mark.parametrize("step", ["change", "disable", "erase"])
@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("a wrong password", "a right code"),
        ("a wrong password", "999999"),
        ("a wrong password", None),
        (DEFAULT_PASSWORD, "999999"),
        (DEFAULT_PASSWORD, "a-replayed-code"),
        (DEFAULT_PASSWORD, None),
        (DEFAULT_PASSWORD, ""),
    ],
)
async def test_with_mfa_on_a_wrong_password_and_a_wrong_code_get_one_answer(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
    step: str,
    password: str,
    code: str | None,
) -> None:
    totp, codes = await mfa_on(uow, clock, alice, second_factor)
    if code == "a right code":
        code = codes[0]
    elif code == "a-replayed-code":
        code = totp.at(clock.now())  # spent by enabling
    before = uow.fake_users.committed_row(alice.id)

    with pytest.raises(WrongPasswordOrCodeError) as caught:
        await with_mfa_confirm(
            step, uow, clock, alice, second_factor, sessions, password=password, code=code
        )

    assert type(caught.value) is WrongPasswordOrCodeError
    assert uow.fake_users.committed_row(alice.id) == before
    # A right code sent with a wrong password was not spent: it still confirms the step.
    await with_mfa_confirm(
        step, uow, clock, alice, second_factor, sessions, password=DEFAULT_PASSWORD, code=codes[0]
    )


async def test_a_weak_new_password_is_told_whatever_the_current_password(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
) -> None:
    """With MFA on, 422 for a right password and 403 for a wrong one would confirm a guess."""
    _, codes = await mfa_on(uow, clock, alice, second_factor)
    for password in ("a wrong password", DEFAULT_PASSWORD):
        with pytest.raises(WeakPasswordError):
            await with_mfa_confirm(
                "change",
                uow,
                clock,
                alice,
                second_factor,
                sessions,
                password=password,
                code=codes[0],
                new_password="short",
            )


async def test_mfa_login_codes_count_per_account_whatever_the_token(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    alice: User,
    second_factor: SecondFactor,
    sessions: SessionTokens,
) -> None:
    _, codes = await mfa_on(uow, clock, alice, second_factor)
    tokens = FakeAccessTokenService(clock)
    spent = FakeTokenDenyList(clock)
    attempts = FakeCredentialAttempts(allowed=2)
    complete = CompleteMfaLogin(uow, tokens, spent, second_factor, sessions, clock, attempts)

    for _ in range(2):  # each from a new login: a fresh mfa_token buys no fresh budget
        with pytest.raises(InvalidMfaCodeError):
            await complete.execute(tokens.issue_mfa(alice.id), "000000", CONTEXT)
    with pytest.raises(RateLimitedError):
        await complete.execute(tokens.issue_mfa(alice.id), codes[0], CONTEXT)
    # Tokens refused before any code is looked at count nothing.
    with pytest.raises(InvalidTokenError):
        await complete.execute("not-an-mfa-token", codes[0], CONTEXT)
    used = tokens.issue_mfa(alice.id)
    await CompleteMfaLogin(
        uow, tokens, spent, second_factor, sessions, clock, FakeCredentialAttempts()
    ).execute(used, codes[0], CONTEXT)  # the refused code was not spent
    with pytest.raises(InvalidTokenError):
        await complete.execute(used, codes[1], CONTEXT)

    one_try = [("mfa_login_code", str(alice.id)), ("password_or_code", "alice@example.com")]
    assert attempts.counted == one_try * 2


async def test_a_registration_delivered_twice_mails_one_link(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    verify = SendEmailVerification(uow, mail, clock, verify_url="v?token=")
    event_id = new_id()

    await verify.execute(alice.id, event_id=event_id)
    await verify.execute(alice.id, event_id=event_id)

    assert len(mail.sent) == 1


async def test_no_link_for_an_account_gone_or_already_verified(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    verify = SendEmailVerification(uow, mail, clock, verify_url="v?token=")

    await verify.execute(new_id(), event_id=new_id())
    uow.fake_users.seed(alice.model_copy(update={"email_verified": True}))
    await verify.execute(alice.id, event_id=new_id())

    assert mail.sent == []
