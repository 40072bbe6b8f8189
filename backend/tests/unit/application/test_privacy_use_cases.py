"""GDPR export and erasure, with fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.application.request_context import RequestContext
from app.application.use_cases.credentials.second_factor import SecondFactor
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.application.use_cases.privacy.export_my_data import ExportMyData
from app.domain.entities.audit import AuditEvent
from app.domain.entities.session import Session
from app.domain.entities.user import User
from app.domain.errors import UserNotFoundError, WrongPasswordError
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeClock,
    FakeFileStorage,
    FakePasswordHasher,
    FakeUnitOfWork,
    make_user,
)


def second_factor(clock: FakeClock) -> SecondFactor:
    return SecondFactor(PyotpAuthenticator("Strata"), AesGcmSecretBox(KEY_RING), clock)


KEY_RING = MasterKeyRing({"k1": b"k" * 32}, "k1")
CONTEXT = RequestContext(ip="192.0.2.9", request_id="req-gdpr")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def alice() -> User:
    return make_user(email="alice@example.com", password=DEFAULT_PASSWORD)


@pytest.fixture
def uow(alice: User, clock: FakeClock) -> FakeUnitOfWork:
    bob = make_user(email="bob@example.com")
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice, bob)
    for user in (alice, bob):
        session, _ = Session.start(
            user_id=user.id, now=clock.now(), lifetime=timedelta(days=1), user_agent="ua", ip="ip"
        )
        uow.fake_sessions.seed(session)
    uow.fake_audit_events.seed(
        AuditEvent.record(action="auth.login", now=clock.now(), actor_id=alice.id, ip="192.0.2.1"),
        AuditEvent.record(
            action="user.update",
            now=clock.now(),
            actor_id=bob.id,
            target_type="user",
            target_id=alice.id,
        ),
        AuditEvent.record(action="auth.login", now=clock.now(), actor_id=bob.id),
    )
    return uow


async def test_the_export_holds_only_the_callers_data(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    data = await ExportMyData(uow, clock).execute(alice)

    assert data.user == alice
    assert [s.user_id for s in data.sessions] == [alice.id]
    assert sorted(e.action for e in data.audit_events) == ["auth.login", "user.update"]
    assert data.exported_at == clock.now()


async def test_an_erased_user_has_nothing_to_export(clock: FakeClock, alice: User) -> None:
    with pytest.raises(UserNotFoundError):
        await ExportMyData(FakeUnitOfWork(), clock).execute(alice)


async def test_erasure_removes_the_account_and_sessions_and_anonymises_the_trail(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    await EraseMyAccount(
        uow, FakePasswordHasher(), second_factor(clock), FakeFileStorage(), clock
    ).execute(alice, DEFAULT_PASSWORD, None, CONTEXT)

    assert uow.fake_users.committed_row(alice.id) is None
    assert all(s.user_id != alice.id for s in uow.fake_sessions.committed)
    assert len(uow.fake_sessions.committed) == 1
    events = uow.fake_audit_events.committed
    assert all(e.actor_id != alice.id and e.target_id != str(alice.id) for e in events)
    assert all(e.ip is None for e in events if e.action == "auth.login" and e.actor_id is None)
    assert sorted(e.action for e in events) == [
        "auth.login",
        "auth.login",
        "user.erase",
        "user.update",
    ]


async def test_erasure_with_a_wrong_password_changes_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    with pytest.raises(WrongPasswordError):
        await EraseMyAccount(
            uow, FakePasswordHasher(), second_factor(clock), FakeFileStorage(), clock
        ).execute(alice, "guess", None, CONTEXT)

    assert uow.committed == 0
    assert uow.fake_users.committed_row(alice.id) == alice
