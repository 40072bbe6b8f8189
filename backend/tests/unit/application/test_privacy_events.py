"""GDPR erasure records `UserErased` in its own transaction and relays it once the erased user's
stored files are gone; an erasure that is refused tells nobody."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.privacy.erase_my_account import EraseMyAccount
from app.domain.entities.credentials import WrongPasswordError
from app.domain.entities.user import User, UserNotFoundError
from app.domain.events import DomainEvent
from app.domain.events.user import UserErased
from app.infrastructure.adapters.encryption import AesGcmSecretBox, MasterKeyRing
from app.infrastructure.adapters.totp import PyotpAuthenticator
from tests.builders import make_resource, make_stored_file, make_user
from tests.fakes import (
    DEFAULT_PASSWORD,
    FakeClock,
    FakeEventPublisher,
    FakeFileStorage,
    FakePasswordHasher,
    FakeUnitOfWork,
    personal_data_holders,
)
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

CONTEXT = RequestContext(ip="192.0.2.9", request_id="req-gdpr")
KEY_RING = MasterKeyRing({"k1": b"k" * 32}, "k1")
ALICE = make_user(email="alice@example.com", password=DEFAULT_PASSWORD, full_name="Alice Liddell")


class StorageWatchingRelay(FakeEventPublisher):
    """Also notes which stored files were still there when the event was handed out."""

    def __init__(self, uow: FakeUnitOfWork, storage: FakeFileStorage) -> None:
        super().__init__(uow)
        self._storage = storage
        self.blobs_at_publish: list[set[str]] = []

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.blobs_at_publish.append(set(self._storage.blobs))
        await super().publish(events)


@pytest.fixture
def storage(uow: FakeUnitOfWork) -> FakeFileStorage:
    storage = FakeFileStorage()
    resource = make_resource(owner_id=ALICE.id)
    stored = make_stored_file(resource_id=resource.id, owner_id=ALICE.id, storage_key="fake/a")
    uow.fake_users.seed(ALICE)
    uow.fake_resources.seed(resource)
    uow.fake_resource_files.seed(stored)
    storage.blobs[stored.storage_key] = b"alice's scan"
    return storage


def erase(
    uow: FakeUnitOfWork, clock: FakeClock, storage: FakeFileStorage, events: FakeEventPublisher
) -> EraseMyAccount:
    second_factor = SecondFactor(PyotpAuthenticator("Strata"), AesGcmSecretBox(KEY_RING), clock)
    return EraseMyAccount(
        uow, personal_data_holders(storage), FakePasswordHasher(), second_factor, clock, events
    )


async def test_erasure_records_user_erased_and_relays_it_once_the_files_are_gone(
    uow: FakeUnitOfWork, clock: FakeClock, storage: FakeFileStorage
) -> None:
    events = StorageWatchingRelay(uow, storage)
    await erase(uow, clock, storage, events).execute(ALICE, DEFAULT_PASSWORD, None, CONTEXT)

    assert_told_after_commit(uow, events, UserErased(occurred_at=clock.now(), user_id=ALICE.id))
    assert events.blobs_at_publish == [set()]
    assert uow.fake_outbox.committed_events[0].payload() == {"user_id": str(ALICE.id)}


async def test_a_refused_erasure_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, storage: FakeFileStorage
) -> None:
    events = FakeEventPublisher(uow)
    with pytest.raises(WrongPasswordError):
        await erase(uow, clock, storage, events).execute(ALICE, "a guess", None, CONTEXT)
    stranger: User = make_user(email="gone@example.com", password=DEFAULT_PASSWORD)
    with pytest.raises(UserNotFoundError):
        await erase(uow, clock, storage, events).execute(stranger, DEFAULT_PASSWORD, None, CONTEXT)

    assert_nobody_told(uow, events)
    assert uow.fake_users.committed_row(ALICE.id) == ALICE
