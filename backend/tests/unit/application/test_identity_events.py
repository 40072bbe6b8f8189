"""Sessions, credentials and accounts record their domain event with their change and relay it
after the commit; a refused change (a wrong password, a stranger's session, a spent link) tells
nobody, and neither does bookkeeping (a refresh, an MFA set-up, a mailed link)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pyotp
import pytest

from app.application.errors import DependencyUnavailableError
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
from app.application.use_cases.session.authenticate import Authenticate
from app.application.use_cases.session.log_in import LogIn, MfaChallenge
from app.application.use_cases.session.log_out import LogOut
from app.application.use_cases.session.refresh_session import RefreshSession
from app.application.use_cases.session.revoke_session import RevokeSession
from app.application.use_cases.user.change_user_access import AccessChange, ChangeUserAccess
from app.application.use_cases.user.update_profile import UpdateProfile
from app.domain.entities.credentials import (
    InvalidMfaCodeError,
    InvalidOneTimeTokenError,
    MfaSetupMissingError,
    WrongPasswordError,
    WrongPasswordOrCodeError,
    WrongSecondFactorError,
)
from app.domain.entities.session import (
    InvalidCredentialsError,
    InvalidRefreshTokenError,
    SessionNotFoundError,
)
from app.domain.entities.user import (
    AdminRequiredError,
    OwnAccessChangeError,
    Role,
    User,
    UserNotFoundError,
    UserVersionMismatchError,
    WeakPasswordError,
)
from app.domain.events import DomainEvent
from app.domain.events.credentials import (
    EmailVerified,
    PasswordChanged,
    SecondFactorDisabled,
    SecondFactorEnabled,
)
from app.domain.events.session import SessionEnded, SessionStarted
from app.domain.events.user import UserAccessChanged, UserProfileUpdated
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_session, make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeAccessPolicy,
    FakeAccessTokenService,
    FakeClock,
    FakeCredentialAttempts,
    FakeEventOutbox,
    FakeEventPublisher,
    FakePasswordHasher,
    FakePasswordStrengthChecker,
    FakeTokenDenyList,
    FakeUnitOfWork,
)
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

CONTEXT = RequestContext(ip="192.0.2.81", user_agent="pytest/1.0", request_id="req-identity")
NEW_PASSWORD = "an entirely new passphrase"
BOX = AesGcmSecretBox(MasterKeyRing({"k": b"k" * 32}, "k"))
TOTP = PyotpAuthenticator("Strata")


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com", full_name="Alice Smith")


@pytest.fixture
def admin() -> User:
    return make_user(email="root@example.com", role=Role.ADMIN)


@pytest.fixture
def uow(alice: User, admin: User) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice, admin)
    return uow


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


@pytest.fixture
def tokens(clock: FakeClock) -> FakeAccessTokenService:
    return FakeAccessTokenService(clock)


@pytest.fixture
def sessions(tokens: FakeAccessTokenService, clock: FakeClock) -> SessionTokens:
    return SessionTokens(tokens, clock, SessionPolicy(timedelta(days=1), 10))


@pytest.fixture
def second_factor(clock: FakeClock) -> SecondFactor:
    return SecondFactor(TOTP, BOX, clock)


def log_in(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher | None = None,
) -> LogIn:
    return LogIn(uow, FakePasswordHasher(), sessions, tokens, clock, events)


def policy() -> PasswordPolicy:
    return PasswordPolicy(FakePasswordStrengthChecker())


def forget_recorded(uow: FakeUnitOfWork) -> None:
    """An empty outbox in place of the one a test's set-up recorded in, so the assertions see
    only the step under test."""
    uow.fake_outbox = FakeEventOutbox()


def link_token(message: MailMessage) -> str:
    return message.text.split("token=", 1)[1].split()[0]


class RecordingMail:
    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    async def send(self, message: MailMessage) -> None:
        self.sent.append(message)


# ---------------------------------------------------------------- sessions


async def test_a_login_records_session_started_and_relays_it_after_the_commit(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    pair = await log_in(uow, sessions, tokens, clock, events).execute(
        " Alice@Example.com", DEFAULT_PASSWORD, CONTEXT
    )

    assert isinstance(pair, TokenPair)
    expected = SessionStarted(occurred_at=clock.now(), session_id=pair.session_id, user_id=alice.id)
    assert_told_after_commit(uow, events, expected)
    # Ids only: the address and user agent the session keeps do not travel.
    assert uow.fake_outbox.committed_events[0].payload() == {
        "session_id": str(pair.session_id),
        "user_id": str(alice.id),
    }


async def test_a_refused_login_or_an_mfa_challenge_tells_nobody(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    login = log_in(uow, sessions, tokens, clock, events)
    uow.fake_users.seed(make_user(email="gone@example.com", is_active=False))
    for email, password in [
        ("alice@example.com", "not the password"),
        ("nobody@example.com", DEFAULT_PASSWORD),
        ("not an address", DEFAULT_PASSWORD),
        ("gone@example.com", DEFAULT_PASSWORD),
    ]:
        with pytest.raises(InvalidCredentialsError):
            await login.execute(email, password, CONTEXT)
    uow.fake_users.seed(alice.model_copy(update={"mfa_enabled": True}))

    # The password was right, but no session starts before the second factor.
    assert isinstance(await login.execute(alice.email, DEFAULT_PASSWORD, CONTEXT), MfaChallenge)

    assert_nobody_told(uow, events)
    assert uow.fake_sessions.committed == []


async def test_log_out_records_session_ended_and_relays_it_after_the_commit(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
) -> None:
    pair = await log_in(uow, sessions, tokens, clock).execute(
        "alice@example.com", DEFAULT_PASSWORD, CONTEXT
    )
    assert isinstance(pair, TokenPair)
    deny_list = FakeTokenDenyList(clock)
    user, claims = await Authenticate(uow, tokens, deny_list, clock).execute_with_claims(
        pair.access_token
    )
    forget_recorded(uow)
    clock.advance()

    await LogOut(uow, deny_list, clock, events).execute(user, claims, CONTEXT)

    expected = SessionEnded(
        occurred_at=clock.now(), session_id=pair.session_id, user_id=user.id, reason="logout"
    )
    assert_told_after_commit(uow, events, expected)


async def test_a_failed_log_out_or_one_whose_session_is_gone_tells_nobody(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
) -> None:
    pair = await log_in(uow, sessions, tokens, clock).execute(
        "alice@example.com", DEFAULT_PASSWORD, CONTEXT
    )
    assert isinstance(pair, TokenPair)
    deny_list = FakeTokenDenyList(clock)
    user, claims = await Authenticate(uow, tokens, deny_list, clock).execute_with_claims(
        pair.access_token
    )
    forget_recorded(uow)
    log_out = LogOut(uow, deny_list, clock, events)

    deny_list.unavailable = True
    with pytest.raises(DependencyUnavailableError):
        await log_out.execute(user, claims, CONTEXT)
    deny_list.unavailable = False
    # Revoked from another device meanwhile: that revocation told the end, this adds nothing.
    await RevokeSession(uow, clock).execute(user, pair.session_id, CONTEXT)
    forget_recorded(uow)
    await log_out.execute(user, claims, CONTEXT)

    assert_nobody_told(uow, events)
    assert "auth.logout" in uow.fake_audit_events.actions


async def test_revoking_a_session_records_session_ended(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    session = make_session(user_id=alice.id, now=clock.now())
    uow.fake_sessions.seed(session)

    await RevokeSession(uow, clock, events).execute(alice, session.id, CONTEXT)

    expected = SessionEnded(
        occurred_at=clock.now(), session_id=session.id, user_id=alice.id, reason="revoked"
    )
    assert_told_after_commit(uow, events, expected)
    assert uow.fake_outbox.committed_events[0].payload()["reason"] == "revoked"


async def test_revoking_a_strangers_or_a_missing_session_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, alice: User, admin: User
) -> None:
    session = make_session(user_id=alice.id, now=clock.now())
    uow.fake_sessions.seed(session)
    revoke = RevokeSession(uow, clock, events)

    with pytest.raises(SessionNotFoundError):
        await revoke.execute(admin, session.id, CONTEXT)
    with pytest.raises(SessionNotFoundError):
        await revoke.execute(alice, new_id(), CONTEXT)

    assert_nobody_told(uow, events)
    assert uow.fake_sessions.committed == [session]


async def test_a_refresh_records_nothing(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
) -> None:
    pair = await log_in(uow, sessions, tokens, clock).execute(
        "alice@example.com", DEFAULT_PASSWORD, CONTEXT
    )
    assert isinstance(pair, TokenPair)
    forget_recorded(uow)

    refreshed = await RefreshSession(uow, sessions, clock).execute(pair.refresh_token, CONTEXT)

    assert refreshed.session_id == pair.session_id
    assert uow.fake_outbox.committed_events == []


async def test_a_spent_refresh_token_presented_again_records_session_ended_for_reuse(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
) -> None:
    pair = await log_in(uow, sessions, tokens, clock).execute(
        "alice@example.com", DEFAULT_PASSWORD, CONTEXT
    )
    assert isinstance(pair, TokenPair)
    refresh = RefreshSession(uow, sessions, clock, events)
    await refresh.execute(pair.refresh_token, CONTEXT)
    forget_recorded(uow)

    with pytest.raises(InvalidRefreshTokenError):
        await refresh.execute(pair.refresh_token, CONTEXT)  # spent: a thief, or its owner

    [ended] = uow.fake_outbox.committed_events
    assert ended == SessionEnded(
        occurred_at=clock.now(),
        session_id=pair.session_id,
        user_id=ended.user_id,
        reason="refresh_reused",
    )
    assert_told_after_commit(uow, events, ended)


async def test_an_mfa_login_records_session_started_and_a_wrong_code_tells_nobody(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    tokens: FakeAccessTokenService,
    clock: FakeClock,
    events: FakeEventPublisher,
    second_factor: SecondFactor,
    alice: User,
) -> None:
    codes = await mfa_on(uow, clock, alice, second_factor)
    complete = CompleteMfaLogin(
        uow,
        tokens,
        FakeTokenDenyList(clock),
        second_factor,
        sessions,
        clock,
        FakeCredentialAttempts(),
        events,
    )
    with pytest.raises(InvalidMfaCodeError):
        await complete.execute(tokens.issue_mfa(alice.id), "000000", CONTEXT)
    assert_nobody_told(uow, events)

    pair = await complete.execute(tokens.issue_mfa(alice.id), codes[0], CONTEXT)

    expected = SessionStarted(occurred_at=clock.now(), session_id=pair.session_id, user_id=alice.id)
    assert_told_after_commit(uow, events, expected)


# ---------------------------------------------------------------- passwords


async def test_a_password_change_records_password_changed(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    second_factor: SecondFactor,
    alice: User,
) -> None:
    change = ChangePassword(
        uow, FakePasswordHasher(), policy(), second_factor, sessions, clock, events
    )
    for current, new, error in [
        ("not the password", NEW_PASSWORD, WrongPasswordError),
        (DEFAULT_PASSWORD, "short", WeakPasswordError),
    ]:
        with pytest.raises(error):
            await change.execute(
                alice,
                current_password=current,
                new_password=new,
                code=None,
                current_session_id=new_id(),
                context=CONTEXT,
            )
    assert_nobody_told(uow, events)

    await change.execute(
        alice,
        current_password=DEFAULT_PASSWORD,
        new_password=NEW_PASSWORD,
        code=None,
        current_session_id=new_id(),
        context=CONTEXT,
    )

    expected = PasswordChanged(occurred_at=clock.now(), user_id=alice.id, via="change")
    assert_told_after_commit(uow, events, expected)
    # Neither password nor hash travels.
    assert uow.fake_outbox.committed_events[0].payload() == {
        "user_id": str(alice.id),
        "via": "change",
    }


async def reset_link(uow: FakeUnitOfWork, clock: FakeClock, email: str) -> str:
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(email)
    return link_token(mail.sent[0])


async def test_a_reset_records_password_changed_and_the_address_it_proved(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    token = await reset_link(uow, clock, alice.email)
    reset = ResetPassword(uow, FakePasswordHasher(), policy(), sessions, clock, events)
    with pytest.raises(WeakPasswordError):
        await reset.execute(token, "short", CONTEXT)
    with pytest.raises(InvalidOneTimeTokenError):
        await reset.execute(f"{new_id()}.secret", NEW_PASSWORD, CONTEXT)
    assert_nobody_told(uow, events)  # requesting the link recorded nothing either

    await reset.execute(token, NEW_PASSWORD, CONTEXT)

    now = clock.now()
    expected = [
        PasswordChanged(occurred_at=now, user_id=alice.id, via="reset"),
        EmailVerified(occurred_at=now, user_id=alice.id),
    ]
    assert uow.fake_outbox.committed_events == expected
    assert events.published == expected
    assert [e.event_id for e in events.published] == [
        e.event_id for e in uow.fake_outbox.committed_events
    ]
    assert events.commits_at_publish == [uow.committed]
    assert not events.published_inside_transaction
    with pytest.raises(InvalidOneTimeTokenError):  # spent: nothing more is told
        await reset.execute(token, NEW_PASSWORD, CONTEXT)
    assert len(uow.fake_outbox.committed_events) == 2


async def test_a_reset_of_a_verified_address_records_only_the_password_change(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    uow.fake_users.seed(alice.model_copy(update={"email_verified": True}))
    token = await reset_link(uow, clock, alice.email)

    await ResetPassword(uow, FakePasswordHasher(), policy(), sessions, clock, events).execute(
        token, NEW_PASSWORD, CONTEXT
    )

    expected = PasswordChanged(occurred_at=clock.now(), user_id=alice.id, via="reset")
    assert_told_after_commit(uow, events, expected)


async def test_a_reset_request_for_an_account_records_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    mail = RecordingMail()
    await RequestPasswordReset(uow, mail, clock, reset_url="r?token=").execute(alice.email)
    await SendEmailVerification(uow, mail, clock, verify_url="v?token=").execute(alice.id)

    assert len(mail.sent) == 2
    assert len(uow.fake_one_time_tokens.committed) == 2
    assert uow.fake_outbox.committed_events == []


# ---------------------------------------------------------------- e-mail verification


async def test_verifying_the_address_records_email_verified_once(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, alice: User
) -> None:
    mail = RecordingMail()
    verification = SendEmailVerification(uow, mail, clock, verify_url="v?token=")
    await verification.execute(alice.id)
    verify = VerifyEmail(uow, clock, events)
    with pytest.raises(InvalidOneTimeTokenError):
        await verify.execute(f"{new_id()}.secret")
    assert_nobody_told(uow, events)

    await verify.execute(link_token(mail.sent[0]))

    assert_told_after_commit(uow, events, EmailVerified(occurred_at=clock.now(), user_id=alice.id))
    with pytest.raises(InvalidOneTimeTokenError):
        await verify.execute(link_token(mail.sent[0]))
    assert len(uow.fake_outbox.committed_events) == 1


async def test_a_link_spent_on_an_already_verified_address_tells_nobody(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    alice: User,
) -> None:
    mail = RecordingMail()
    await SendEmailVerification(uow, mail, clock, verify_url="v?token=").execute(alice.id)
    # A reset link proved the address (and told so) before the verification link was opened.
    await ResetPassword(uow, FakePasswordHasher(), policy(), sessions, clock).execute(
        await reset_link(uow, clock, alice.email), NEW_PASSWORD, CONTEXT
    )
    forget_recorded(uow)

    await VerifyEmail(uow, clock, events).execute(link_token(mail.sent[0]))

    assert_nobody_told(uow, events)


# ---------------------------------------------------------------- MFA


async def mfa_on(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User, second_factor: SecondFactor
) -> list[str]:
    """Alice's MFA on (what that recorded forgotten); her recovery codes."""
    setup = await SetUpMfa(uow, TOTP, BOX, clock).execute(alice)
    totp = pyotp.TOTP(setup.secret)
    codes = await EnableMfa(uow, second_factor, clock).execute(alice, totp.at(clock.now()), CONTEXT)
    forget_recorded(uow)
    clock.advance(timedelta(seconds=60))
    return codes


async def test_enabling_mfa_records_second_factor_enabled_and_the_set_up_nothing(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    second_factor: SecondFactor,
    alice: User,
) -> None:
    enable = EnableMfa(uow, second_factor, clock, events)
    with pytest.raises(MfaSetupMissingError):
        await enable.execute(alice, "123456", CONTEXT)
    setup = await SetUpMfa(uow, TOTP, BOX, clock).execute(alice)
    with pytest.raises(WrongSecondFactorError):
        await enable.execute(alice, "000000", CONTEXT)
    assert_nobody_told(uow, events)

    await enable.execute(alice, pyotp.TOTP(setup.secret).at(clock.now()), CONTEXT)

    expected = SecondFactorEnabled(occurred_at=clock.now(), user_id=alice.id)
    assert_told_after_commit(uow, events, expected)
    assert uow.fake_outbox.committed_events[0].payload() == {"user_id": str(alice.id)}


async def test_disabling_mfa_records_second_factor_disabled(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    second_factor: SecondFactor,
    alice: User,
) -> None:
    codes = await mfa_on(uow, clock, alice, second_factor)
    disable = DisableMfa(uow, FakePasswordHasher(), second_factor, clock, events)
    with pytest.raises(WrongPasswordOrCodeError):
        await disable.execute(alice, password="not the password", code=codes[0], context=CONTEXT)
    with pytest.raises(WrongPasswordOrCodeError):
        await disable.execute(alice, password=DEFAULT_PASSWORD, code="999999", context=CONTEXT)
    assert_nobody_told(uow, events)

    await disable.execute(alice, password=DEFAULT_PASSWORD, code=codes[1], context=CONTEXT)

    expected = SecondFactorDisabled(occurred_at=clock.now(), user_id=alice.id)
    assert_told_after_commit(uow, events, expected)


# ---------------------------------------------------------------- accounts


def change_access(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    policy: FakeAccessPolicy | None = None,
) -> ChangeUserAccess:
    return ChangeUserAccess(uow, policy or FakeAccessPolicy(), sessions, clock, events)


@pytest.mark.parametrize(
    ("change", "role", "active"),
    [
        (AccessChange(role=Role.ADMIN), "admin", True),
        (AccessChange(is_active=False), "user", False),
        (AccessChange(role=Role.ADMIN, is_active=False), "admin", False),
    ],
    ids=["role", "active", "both"],
)
async def test_an_access_change_records_the_access_the_account_now_has(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    admin: User,
    alice: User,
    change: AccessChange,
    role: str,
    active: bool,
) -> None:
    await change_access(uow, sessions, clock, events).execute(admin, alice.id, change, CONTEXT)

    expected = UserAccessChanged(
        occurred_at=clock.now(), user_id=alice.id, role=role, active=active, changed_by=admin.id
    )
    assert_told_after_commit(uow, events, expected)
    assert uow.fake_outbox.committed_events[0].payload() == {
        "user_id": str(alice.id),
        "role": role,
        "active": active,
        "changed_by": str(admin.id),
    }


async def test_a_refused_or_empty_access_change_tells_nobody(
    uow: FakeUnitOfWork,
    sessions: SessionTokens,
    clock: FakeClock,
    events: FakeEventPublisher,
    admin: User,
    alice: User,
) -> None:
    demote = AccessChange(is_active=False)
    with pytest.raises(AdminRequiredError):
        await change_access(uow, sessions, clock, events).execute(alice, admin.id, demote, CONTEXT)
    with pytest.raises(AdminRequiredError):
        await change_access(uow, sessions, clock, events, FakeAccessPolicy([])).execute(
            admin, alice.id, demote, CONTEXT
        )
    with pytest.raises(OwnAccessChangeError):
        await change_access(uow, sessions, clock, events).execute(admin, admin.id, demote, CONTEXT)
    with pytest.raises(UserNotFoundError):
        await change_access(uow, sessions, clock, events).execute(admin, new_id(), demote, CONTEXT)
    with pytest.raises(UserVersionMismatchError):
        await change_access(uow, sessions, clock, events).execute(
            admin, alice.id, demote, CONTEXT, expected_versions={alice.version + 1}
        )
    # What the account has already: nothing changes, nothing is told.
    await change_access(uow, sessions, clock, events).execute(
        admin, alice.id, AccessChange(role=Role.USER, is_active=True), CONTEXT
    )

    assert_nobody_told(uow, events)


async def test_a_new_name_records_the_field_name_never_the_value(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, alice: User
) -> None:
    await UpdateProfile(uow, clock, events).execute(alice, full_name="  Ada Lovelace ")

    expected = UserProfileUpdated(
        occurred_at=clock.now(), user_id=alice.id, changed_fields=("full_name",)
    )
    assert_told_after_commit(uow, events, expected)
    payload = uow.fake_outbox.committed_events[0].payload()
    assert payload == {"user_id": str(alice.id), "changed_fields": ("full_name",)}
    assert "Ada" not in repr(payload)


async def test_clearing_the_name_is_a_change_too(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, alice: User
) -> None:
    await UpdateProfile(uow, clock, events).execute(alice, full_name="   ")

    expected = UserProfileUpdated(
        occurred_at=clock.now(), user_id=alice.id, changed_fields=("full_name",)
    )
    assert_told_after_commit(uow, events, expected)


async def test_a_profile_update_that_changes_nothing_or_is_refused_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, alice: User
) -> None:
    update = UpdateProfile(uow, clock, events)
    await update.execute(alice, full_name=None)
    await update.execute(alice, full_name=" Alice Smith ")  # the name it has
    with pytest.raises(UserVersionMismatchError):
        await update.execute(alice, full_name="Ada", expected_versions={alice.version + 7})
    with pytest.raises(UserNotFoundError):
        await UpdateProfile(FakeUnitOfWork(), clock, events).execute(alice, full_name="Ada")

    assert_nobody_told(uow, events)


def test_every_identity_event_is_about_its_session_or_user() -> None:
    session_id, user_id = new_id(), new_id()
    now = FakeClock().now()
    told: list[tuple[DomainEvent, UUID]] = [
        (SessionStarted(occurred_at=now, session_id=session_id, user_id=user_id), session_id),
        (
            SessionEnded(occurred_at=now, session_id=session_id, user_id=user_id, reason="logout"),
            session_id,
        ),
        (PasswordChanged(occurred_at=now, user_id=user_id, via="reset"), user_id),
        (SecondFactorEnabled(occurred_at=now, user_id=user_id), user_id),
        (SecondFactorDisabled(occurred_at=now, user_id=user_id), user_id),
        (EmailVerified(occurred_at=now, user_id=user_id), user_id),
        (
            UserAccessChanged(
                occurred_at=now, user_id=user_id, role="admin", active=True, changed_by=new_id()
            ),
            user_id,
        ),
        (UserProfileUpdated(occurred_at=now, user_id=user_id, changed_fields=()), user_id),
    ]

    assert [event.aggregate_id for event, _ in told] == [expected for _, expected in told]
