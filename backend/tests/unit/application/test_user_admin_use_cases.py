"""Administrators list users and change their access; users change their own profile."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.application.interfaces.access import PolicyRule
from app.application.request_context import RequestContext
from app.application.services.session import SessionPolicy, SessionTokens
from app.application.use_cases.user.change_user_access import AccessChange, ChangeUserAccess
from app.application.use_cases.user.list_users import ListUsers
from app.application.use_cases.user.update_profile import UpdateProfile
from app.domain.entities.user import (
    AdminRequiredError,
    OwnAccessChangeError,
    Role,
    User,
    UserChangedConcurrentlyError,
    UserNotFoundError,
    UserVersionMismatchError,
)
from tests.builders import make_session, make_user
from tests.fakes import FakeAccessPolicy, FakeAccessTokenService, FakeClock, FakeUnitOfWork

CONTEXT = RequestContext(ip="198.51.100.4", request_id="req-9")
POLICY = FakeAccessPolicy()  # the default policy: administrators administer accounts
NOBODY = FakeAccessPolicy([])  # a policy with no rule: it lets nobody do anything


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def admin() -> User:
    return make_user(email="root@example.com", role=Role.ADMIN)


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com")


@pytest.fixture
def uow(admin: User, alice: User, clock: FakeClock) -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.fake_users.seed(admin, alice)
    for user in (admin, alice):
        uow.fake_sessions.seed(make_session(user_id=user.id, now=clock.now()))
    return uow


@pytest.fixture
def change_access(uow: FakeUnitOfWork, clock: FakeClock) -> ChangeUserAccess:
    sessions = SessionTokens(
        FakeAccessTokenService(clock), clock, SessionPolicy(timedelta(days=1), 10)
    )
    return ChangeUserAccess(uow, POLICY, sessions, clock)


@pytest.mark.parametrize(
    "change", [AccessChange(role=Role.ADMIN), AccessChange(is_active=False)], ids=["role", "active"]
)
async def test_an_access_change_revokes_every_session_of_the_user_and_is_audited(
    change_access: ChangeUserAccess,
    uow: FakeUnitOfWork,
    admin: User,
    alice: User,
    change: AccessChange,
) -> None:
    changed = await change_access.execute(admin, alice.id, change, CONTEXT)

    assert changed.version == alice.version + 1
    assert uow.fake_users.committed_row(alice.id) == changed
    assert [s.user_id for s in uow.fake_sessions.committed] == [admin.id]
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.actor_id, event.target_id) == (
        "user.update",
        admin.id,
        str(alice.id),
    )
    assert event.details["sessions_revoked"] == "1"


async def test_no_change_changes_nothing(
    change_access: ChangeUserAccess, uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    same = await change_access.execute(admin, alice.id, AccessChange(role=Role.USER), CONTEXT)

    assert same == alice
    assert uow.committed == 0
    assert len(uow.fake_sessions.committed) == 2


@pytest.mark.parametrize("change", [AccessChange(role=Role.USER), AccessChange(is_active=False)])
async def test_an_admin_cannot_change_their_own_access(
    change_access: ChangeUserAccess, uow: FakeUnitOfWork, admin: User, change: AccessChange
) -> None:
    with pytest.raises(OwnAccessChangeError):
        await change_access.execute(admin, admin.id, change, CONTEXT)

    assert uow.committed == 0


async def test_only_admins_change_access(
    change_access: ChangeUserAccess, uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await change_access.execute(alice, admin.id, AccessChange(is_active=False), CONTEXT)
    inactive_admin = admin.model_copy(update={"is_active": False})
    with pytest.raises(AdminRequiredError):
        await change_access.execute(
            inactive_admin, alice.id, AccessChange(role=Role.ADMIN), CONTEXT
        )

    assert uow.committed == 0


async def test_an_unknown_user_is_not_found(
    change_access: ChangeUserAccess, admin: User, alice: User
) -> None:
    with pytest.raises(UserNotFoundError):
        await change_access.execute(admin, make_user().id, AccessChange(role=Role.ADMIN), CONTEXT)


async def test_a_concurrent_change_is_a_conflict(
    change_access: ChangeUserAccess, uow: FakeUnitOfWork, admin: User, alice: User, clock: FakeClock
) -> None:
    original_get = uow.fake_users.get

    async def stale_read(user_id: object) -> User | None:
        user = await original_get(user_id)  # type: ignore[arg-type]
        uow.fake_users.commit_elsewhere(alice.changed(clock.now(), full_name="Someone else"))
        return user

    uow.fake_users.get = stale_read  # type: ignore[method-assign,assignment]

    with pytest.raises(UserChangedConcurrentlyError):
        await change_access.execute(admin, alice.id, AccessChange(role=Role.ADMIN), CONTEXT)


async def test_an_access_change_against_a_stale_version_changes_nothing(
    change_access: ChangeUserAccess, uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    with pytest.raises(UserVersionMismatchError):
        await change_access.execute(
            admin,
            alice.id,
            AccessChange(is_active=False),
            CONTEXT,
            expected_versions={alice.version + 1},
        )
    assert uow.committed == 0
    assert len(uow.fake_sessions.committed) == 2

    changed = await change_access.execute(
        admin, alice.id, AccessChange(is_active=False), CONTEXT, expected_versions={alice.version}
    )
    assert changed.is_active is False


async def test_users_are_listed_by_admins_a_page_at_a_time(
    uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    first = await ListUsers(uow, POLICY).execute(admin, limit=1, cursor=None)
    second = await ListUsers(uow, POLICY).execute(admin, limit=1, cursor=first.next_cursor)

    assert [*first.items, *second.items] == sorted([admin, alice], key=lambda u: u.id)
    assert second.next_cursor is None
    with pytest.raises(AdminRequiredError):
        await ListUsers(uow, POLICY).execute(alice, limit=10, cursor=None)


async def test_a_user_renames_themselves(
    uow: FakeUnitOfWork, alice: User, clock: FakeClock
) -> None:
    clock.advance()

    renamed = await UpdateProfile(uow, clock).execute(alice, full_name="  Ada  ")
    cleared = await UpdateProfile(uow, clock).execute(alice, full_name="")

    assert renamed.full_name == "Ada"
    assert cleared.full_name is None
    assert cleared.version == alice.version + 2
    assert cleared.updated_at == clock.now()


async def test_a_deleted_user_cannot_rename_themselves(clock: FakeClock, alice: User) -> None:
    with pytest.raises(UserNotFoundError):
        await UpdateProfile(FakeUnitOfWork(), clock).execute(alice, full_name="Ghost")


async def test_a_profile_update_without_a_name_changes_nothing(
    uow: FakeUnitOfWork, alice: User, clock: FakeClock
) -> None:
    same = await UpdateProfile(uow, clock).execute(alice, full_name=None)

    assert same == alice
    assert uow.committed == 0


async def test_a_profile_update_against_a_stale_version_changes_nothing(
    uow: FakeUnitOfWork, alice: User, clock: FakeClock
) -> None:
    update = UpdateProfile(uow, clock)
    with pytest.raises(UserVersionMismatchError):
        await update.execute(alice, full_name="Ada", expected_versions={alice.version + 1})
    with pytest.raises(UserVersionMismatchError):
        await update.execute(alice, full_name=None, expected_versions=frozenset())

    assert uow.fake_users.committed_row(alice.id) == alice
    renamed = await update.execute(alice, full_name="Ada", expected_versions={alice.version})
    assert renamed.version == alice.version + 1


async def test_a_concurrent_profile_update_is_a_conflict(
    uow: FakeUnitOfWork, alice: User, clock: FakeClock
) -> None:
    original_get = uow.fake_users.get

    async def stale_read(user_id: object) -> User | None:
        user = await original_get(user_id)  # type: ignore[arg-type]
        uow.fake_users.commit_elsewhere(alice.changed(clock.now(), full_name="Someone else"))
        return user

    uow.fake_users.get = stale_read  # type: ignore[method-assign,assignment]

    with pytest.raises(UserChangedConcurrentlyError):
        await UpdateProfile(uow, clock).execute(alice, full_name="Ada")


async def test_listing_users_refuses_even_an_admin_when_the_policy_does(
    uow: FakeUnitOfWork, admin: User
) -> None:
    with pytest.raises(AdminRequiredError):
        await ListUsers(uow, NOBODY).execute(admin, limit=10, cursor=None)

    assert uow.entered == 0


async def test_a_user_the_policy_lets_read_accounts_lists_them(
    uow: FakeUnitOfWork, admin: User, alice: User
) -> None:
    readers = FakeAccessPolicy([PolicyRule("user", "user", "read", "all")])

    page = await ListUsers(uow, readers).execute(alice, limit=10, cursor=None)

    assert set(page.items) == {admin, alice}


async def test_changing_access_refuses_even_an_admin_when_the_policy_does(
    uow: FakeUnitOfWork, clock: FakeClock, admin: User, alice: User
) -> None:
    sessions = SessionTokens(
        FakeAccessTokenService(clock), clock, SessionPolicy(timedelta(days=1), 10)
    )
    change = ChangeUserAccess(uow, NOBODY, sessions, clock)

    with pytest.raises(AdminRequiredError):
        await change.execute(admin, alice.id, AccessChange(is_active=False), CONTEXT)

    assert uow.entered == 0
    assert alice in uow.fake_users.committed
