"""GDPR export and erasure, with fakes."""

from __future__ import annotations

import pytest

from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.application.use_cases.privacy.export_my_data import ExportMyData
from app.domain.entities.audit import AuditOutcome
from app.domain.entities.credentials import WrongPasswordError
from app.domain.entities.user import User, UserNotFoundError
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_audit_event, make_session, make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeClock,
    FakePasswordHasher,
    FakeUnitOfWork,
    personal_data_holders,
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
        uow.fake_sessions.seed(
            make_session(user_id=user.id, now=clock.now(), user_agent="ua", ip="ip")
        )
    uow.fake_audit_events.seed(
        make_audit_event(action="auth.login", now=clock.now(), actor_id=alice.id, ip="192.0.2.1"),
        make_audit_event(
            action="user.update",
            now=clock.now(),
            actor_id=bob.id,
            target_type="user",
            target_id=alice.id,
        ),
        make_audit_event(action="auth.login", now=clock.now(), actor_id=bob.id),
    )
    return uow


async def test_the_export_holds_only_the_callers_data(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    data = await ExportMyData(uow, personal_data_holders(), clock).execute(alice)

    assert data.sections["profile"] == alice
    assert [s.user_id for s in data.sections["sessions"]] == [alice.id]
    assert sorted(e.action for e in data.sections["audit_events"]) == ["auth.login", "user.update"]
    assert data.exported_at == clock.now()


async def test_the_export_shows_events_about_the_caller_without_anyone_elses_data(
    clock: FakeClock, alice: User
) -> None:
    admin = make_user(email="admin@example.com")
    bob = make_user(email="bob@example.com")
    uow = FakeUnitOfWork()
    uow.fake_users.seed(alice, admin, bob)
    now = clock.now()
    own = make_audit_event(
        action="auth.login", now=now, actor_id=alice.id, ip="192.0.2.1", request_id="req-alice"
    )
    # An administrator changed Alice's role, from their address, in their request.
    by_admin = make_audit_event(
        action="user.update",
        now=now,
        actor_id=admin.id,
        target_type="user",
        target_id=alice.id,
        ip="198.51.100.7",
        request_id="req-admin",
        details={"role": "admin", "is_active": "true", "sessions_revoked": "2"},
    )
    # Someone tried Alice's password, or replayed her refresh token: not proven to be her.
    guessed = make_audit_event(
        action="auth.login",
        now=now,
        actor_id=alice.id,
        target_type="user",
        target_id=alice.id,
        outcome=AuditOutcome.FAILURE,
        ip="203.0.113.66",
        request_id="req-guesser",
    )
    replayed = make_audit_event(
        action="auth.refresh_reuse",
        now=now,
        actor_id=alice.id,
        target_type="session",
        target_id=new_id(),
        outcome=AuditOutcome.DENIED,
        ip="203.0.113.67",
        request_id="req-thief",
    )
    # Alice, an administrator too, deactivated Bob: her act, but Bob's id is his.
    on_bob = make_audit_event(
        action="user.update",
        now=now,
        actor_id=alice.id,
        target_type="user",
        target_id=bob.id,
        ip="192.0.2.1",
        request_id="req-alice-2",
        details={"role": "user", "is_active": "false", "sessions_revoked": "1"},
    )
    uow.fake_audit_events.seed(own, by_admin, guessed, replayed, on_bob)

    data = await ExportMyData(uow, personal_data_holders(), clock).execute(alice)

    exported = {event.id: event for event in data.sections["audit_events"]}
    assert exported[own.id] == own  # her own act, whole
    assert exported[by_admin.id] == by_admin.model_copy(
        update={"actor_id": None, "ip": None, "request_id": None}
    )  # what happened to her and when, with the details of the change; not who, nor from where
    for attempt in (guessed, replayed):
        assert exported[attempt.id] == attempt.model_copy(update={"ip": None, "request_id": None})
    assert exported[on_bob.id] == on_bob.model_copy(update={"target_id": None})
    assert len(exported) == 5
    text = repr(data)
    for someone_elses in (str(admin.id), str(bob.id), "198.51.100.7", "203.0.113.6", "req-admin"):
        assert someone_elses not in text
    assert "req-guesser" not in text
    assert "req-thief" not in text


async def test_an_erased_user_has_nothing_to_export(clock: FakeClock, alice: User) -> None:
    with pytest.raises(UserNotFoundError):
        await ExportMyData(FakeUnitOfWork(), personal_data_holders(), clock).execute(alice)


async def test_erasure_removes_the_account_and_sessions_and_anonymises_the_trail(
    uow: FakeUnitOfWork, clock: FakeClock, alice: User
) -> None:
    await EraseMyAccount(
        uow, personal_data_holders(), FakePasswordHasher(), second_factor(clock), clock
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
            uow, personal_data_holders(), FakePasswordHasher(), second_factor(clock), clock
        ).execute(alice, "guess", None, CONTEXT)

    assert uow.committed == 0
    assert uow.fake_users.committed_row(alice.id) == alice
