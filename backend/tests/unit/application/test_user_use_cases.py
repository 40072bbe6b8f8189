"""Identity use cases: signing up, and bootstrapping the first admin."""

from __future__ import annotations

import pytest

from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.use_cases.user.ensure_admin import EnsureAdmin
from app.application.use_cases.user.register_user import RegisterUser, Registration
from app.domain.entities.user import EmailAlreadyRegisteredError, Role, User, WeakPasswordError
from app.domain.errors import InvalidValueError
from app.domain.events.user import UserRegistered
from tests.builders import make_user
from tests.fakes import (
    FakeClock,
    FakeEventPublisher,
    FakePasswordHasher,
    FakePasswordStrengthChecker,
    FakeUnitOfWork,
    FakeUserRepository,
)

PASSWORD = "a long and unguessable passphrase"


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


@pytest.fixture
def hasher() -> FakePasswordHasher:
    return FakePasswordHasher()


@pytest.fixture
def register(uow: FakeUnitOfWork, hasher: FakePasswordHasher) -> RegisterUser:
    return RegisterUser(uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), FakeClock())


@pytest.fixture
def ensure_admin(uow: FakeUnitOfWork, hasher: FakePasswordHasher) -> EnsureAdmin:
    return EnsureAdmin(uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), FakeClock())


class TwinRegistrationRepository(FakeUserRepository):
    """A twin request registers the same e-mail between our check and our insert."""

    def __init__(self, twin: User) -> None:
        super().__init__()
        self._twin = twin

    async def get_by_email(self, email: str) -> User | None:
        found = await super().get_by_email(email)
        if found is None and email == self._twin.email:
            self.commit_elsewhere(self._twin)
        return found


# ---------------------------------------------------------------- RegisterUser


async def test_register_stores_a_normalised_user_with_a_hashed_password(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    user = await register.execute(
        Registration(email="  Alice@Example.COM ", password=PASSWORD, full_name=" Alice ")
    )

    assert uow.fake_users.committed == [user]
    assert uow.committed == 1
    assert (user.email, user.full_name, user.role) == ("alice@example.com", "Alice", Role.USER)
    assert user.password_hash == "hashed:" + PASSWORD
    assert hasher.hashed == [PASSWORD]
    assert user.created_at == FakeClock().now()


async def test_register_gives_the_role_its_caller_passes(register: RegisterUser) -> None:
    user = await register.execute(
        Registration(email="root@example.com", password=PASSWORD), role=Role.ADMIN
    )

    assert user.role is Role.ADMIN


async def test_register_refuses_an_email_already_taken_in_any_case(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    existing = make_user(email="alice@example.com")
    uow.fake_users.seed(existing)

    with pytest.raises(EmailAlreadyRegisteredError):
        await register.execute(Registration(email="ALICE@example.com", password=PASSWORD))

    assert uow.fake_users.committed == [existing]
    assert hasher.hashed == []


async def test_register_refuses_the_loser_of_a_race_for_the_same_email(
    hasher: FakePasswordHasher,
) -> None:
    twin = make_user(email="alice@example.com")
    uow = FakeUnitOfWork(users=TwinRegistrationRepository(twin))

    with pytest.raises(EmailAlreadyRegisteredError):
        await RegisterUser(
            uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), FakeClock()
        ).execute(Registration(email="alice@example.com", password=PASSWORD))

    assert uow.fake_users.committed == [twin]
    assert uow.committed == 0


@pytest.mark.parametrize(
    "password",
    [
        "too short",
        "aaaaaaaaaaaaaaaa",
        "alice@example.com",
        # Judged in the NFKC form it would be hashed in:
        "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44 and more",  # fullwidth "password"
        "cre\u0300me bru\u0302le\u0301",  # 13 code points as typed, 11 normalized
        "\uff41\uff4c\uff49\uff43\uff45@example.com",  # the e-mail, fullwidth local part
    ],
)
async def test_register_refuses_a_weak_password_and_stores_nothing(
    register: RegisterUser, uow: FakeUnitOfWork, hasher: FakePasswordHasher, password: str
) -> None:
    with pytest.raises(WeakPasswordError):
        await register.execute(Registration(email="Alice@example.com", password=password))

    assert uow.fake_users.committed == []
    assert hasher.hashed == []


async def test_register_refuses_a_malformed_email(
    register: RegisterUser, uow: FakeUnitOfWork
) -> None:
    with pytest.raises(InvalidValueError) as caught:
        await register.execute(Registration(email="alice-at-example.com", password=PASSWORD))

    assert caught.value.field == "email"
    assert uow.fake_users.committed == []


# ---------------------------------------------------------------- EnsureAdmin


async def test_ensure_admin_creates_the_admin_once(
    ensure_admin: EnsureAdmin, uow: FakeUnitOfWork
) -> None:
    first = await ensure_admin.execute(" Root@Example.com ", PASSWORD)
    second = await ensure_admin.execute("root@example.com", PASSWORD)

    assert (first.created, first.email) == (True, "root@example.com")
    assert (second.created, second.email) == (False, "root@example.com")
    [admin] = uow.fake_users.committed
    assert (admin.email, admin.role, admin.full_name) == (
        "root@example.com",
        Role.ADMIN,
        "Administrator",
    )
    assert admin.password_hash == "hashed:" + PASSWORD
    assert uow.committed == 1


async def test_ensure_admin_leaves_an_existing_account_of_that_email_alone(
    ensure_admin: EnsureAdmin, uow: FakeUnitOfWork
) -> None:
    existing = make_user(email="root@example.com", role=Role.USER)
    uow.fake_users.seed(existing)

    result = await ensure_admin.execute("root@example.com", PASSWORD)

    assert not result.created
    assert uow.fake_users.committed == [existing]


async def test_ensure_admin_reports_not_created_when_another_process_won_the_race(
    hasher: FakePasswordHasher,
) -> None:
    twin = make_user(email="root@example.com", role=Role.ADMIN)
    uow = FakeUnitOfWork(users=TwinRegistrationRepository(twin))

    result = await EnsureAdmin(
        uow, hasher, PasswordPolicy(FakePasswordStrengthChecker()), FakeClock()
    ).execute("root@example.com", PASSWORD)

    assert not result.created
    assert uow.fake_users.committed == [twin]


async def test_ensure_admin_refuses_a_weak_password(
    ensure_admin: EnsureAdmin, uow: FakeUnitOfWork
) -> None:
    with pytest.raises(WeakPasswordError):
        await ensure_admin.execute("root@example.com", "admin")

    assert uow.fake_users.committed == []


async def test_ensure_admin_refuses_a_malformed_email(ensure_admin: EnsureAdmin) -> None:
    with pytest.raises(InvalidValueError):
        await ensure_admin.execute("root", PASSWORD)


async def test_registration_tells_the_other_features_once_the_account_is_stored(
    uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    events = FakeEventPublisher(uow)
    policy = PasswordPolicy(FakePasswordStrengthChecker())
    user = await RegisterUser(uow, hasher, policy, FakeClock(), events).execute(
        Registration(email="new@example.com", password=PASSWORD)
    )

    registered = UserRegistered(occurred_at=user.created_at, user_id=user.id)
    # Recorded in the outbox with the account, in one transaction; handed out after its commit.
    assert uow.fake_outbox.committed_events == [registered]
    assert events.published == [registered]
    assert events.published[0].event_id == uow.fake_outbox.committed_events[0].event_id
    assert events.commits_at_publish == [1]
    assert not events.published_inside_transaction


async def test_a_refused_registration_tells_nobody(
    uow: FakeUnitOfWork, hasher: FakePasswordHasher
) -> None:
    uow.fake_users.seed(make_user(email="taken@example.com"))
    events = FakeEventPublisher(uow)
    policy = PasswordPolicy(FakePasswordStrengthChecker())
    with pytest.raises(EmailAlreadyRegisteredError):
        await RegisterUser(uow, hasher, policy, FakeClock(), events).execute(
            Registration(email="taken@example.com", password=PASSWORD)
        )
    assert events.published == []
    assert uow.fake_outbox.committed_events == []


async def test_an_administrator_made_at_start_up_records_no_event(
    uow: FakeUnitOfWork, ensure_admin: EnsureAdmin
) -> None:
    await ensure_admin.execute("root@example.com", PASSWORD)
    assert uow.fake_outbox.committed_events == []
