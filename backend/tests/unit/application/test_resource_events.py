"""Resource and file use cases record their domain event with their change, and relay it after
the commit; a refused or failed change tells nobody. Names (of resources, of files) never travel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest

from app.application.interfaces.resource import UnsupportedFileTypeError
from app.application.request_context import RequestContext
from app.application.use_cases.resource.create_resource import CreateResource
from app.application.use_cases.resource.delete_file import DeleteFile
from app.application.use_cases.resource.delete_resource import DeleteResource
from app.application.use_cases.resource.update_resource import UpdateResource
from app.application.use_cases.resource.upload_file import UploadFile
from app.domain.entities.resource import (
    FileNotFoundInResourceError,
    Resource,
    ResourceChanges,
    ResourceNotFoundError,
    ResourceVersionMismatchError,
    StoredFile,
)
from app.domain.entities.user import Role, User
from app.domain.errors import InvalidValueError, PermissionDeniedError
from app.domain.events.resource import (
    FileDeleted,
    FileUploaded,
    ResourceCreated,
    ResourceDeleted,
    ResourceUpdated,
)
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer
from tests.builders import make_resource, make_stored_file, make_user
from tests.fakes import (
    FakeAccessPolicy,
    FakeClock,
    FakeEventPublisher,
    FakeFileStorage,
    FakeUnitOfWork,
)
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

CONTEXT = RequestContext(ip="203.0.113.9", request_id="req-1")
ALICE = make_user(email="alice@example.com")
MALLORY = make_user(email="mallory@example.com")
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
POLICY = FakeAccessPolicy()
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


@pytest.fixture
def storage() -> FakeFileStorage:
    return FakeFileStorage()


@pytest.fixture
def resource(uow: FakeUnitOfWork) -> Resource:
    stored = make_resource(owner_id=ALICE.id, name="Notes", description="old")
    uow.fake_resources.seed(stored)
    return stored


@pytest.fixture
def stored_file(uow: FakeUnitOfWork, storage: FakeFileStorage, resource: Resource) -> StoredFile:
    stored = make_stored_file(resource_id=resource.id, owner_id=ALICE.id, storage_key="fake/n")
    uow.fake_resource_files.seed(stored)
    storage.blobs[stored.storage_key] = b"hello"
    return stored


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def upload(
    uow: FakeUnitOfWork,
    storage: FakeFileStorage,
    clock: FakeClock,
    events: FakeEventPublisher,
    policy: FakeAccessPolicy = POLICY,
) -> UploadFile:
    sniffer = PuremagicContentTypeSniffer()
    return UploadFile(uow, policy, storage, sniffer, clock, max_bytes=10_000, events=events)


async def test_create_records_resource_created_with_the_owner(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    created = await CreateResource(uow, POLICY, clock, events).execute(
        ALICE, name="Ada's diary", description="private", context=CONTEXT
    )

    expected = ResourceCreated(occurred_at=clock.now(), resource_id=created.id, owner_id=ALICE.id)
    assert_told_after_commit(uow, events, expected)
    assert "diary" not in str(uow.fake_outbox.committed_events[0].payload())


async def test_a_refused_or_invalid_create_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    with pytest.raises(PermissionDeniedError):
        await CreateResource(uow, FakeAccessPolicy(rules=[]), clock, events).execute(
            ALICE, name="Notes", description="", context=CONTEXT
        )
    with pytest.raises(InvalidValueError):  # a blank name
        await CreateResource(uow, POLICY, clock, events).execute(
            ALICE, name=" \t ", description="", context=CONTEXT
        )
    assert_nobody_told(uow, events)


@pytest.mark.parametrize("actor", [ALICE, ADMIN], ids=["owner", "admin"])
async def test_update_records_the_changed_field_names_and_the_owner(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    resource: Resource,
    actor: User,
) -> None:
    clock.advance()
    changes = ResourceChanges(name="Notes", description="new")  # the name is what it was
    await UpdateResource(uow, POLICY, clock, events).execute(actor, resource.id, changes, CONTEXT)

    expected = ResourceUpdated(
        occurred_at=clock.now(),
        resource_id=resource.id,
        owner_id=ALICE.id,  # an admin's change is still about Alice's resource
        changed_fields=("description",),
    )
    assert_told_after_commit(uow, events, expected)


async def test_a_refused_empty_or_stale_update_tells_nobody(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher, resource: Resource
) -> None:
    update = UpdateResource(uow, POLICY, clock, events)
    with pytest.raises(ResourceNotFoundError):
        await update.execute(MALLORY, resource.id, ResourceChanges(name="x"), CONTEXT)
    with pytest.raises(ResourceVersionMismatchError):
        await update.execute(
            ALICE, resource.id, ResourceChanges(name="x"), CONTEXT, expected_versions=[9]
        )
    await update.execute(ALICE, resource.id, ResourceChanges(), CONTEXT)
    assert_nobody_told(uow, events)


async def test_delete_records_resource_deleted_after_the_ciphertext_is_gone(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
    stored_file: StoredFile,
) -> None:
    await DeleteResource(uow, POLICY, storage, clock, events).execute(ADMIN, resource.id, CONTEXT)

    expected = ResourceDeleted(occurred_at=clock.now(), resource_id=resource.id, owner_id=ALICE.id)
    assert_told_after_commit(uow, events, expected)
    assert storage.blobs == {}


async def test_a_refused_or_missing_delete_tells_nobody(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
) -> None:
    delete = DeleteResource(uow, POLICY, storage, clock, events)
    with pytest.raises(ResourceNotFoundError):
        await delete.execute(MALLORY, resource.id, CONTEXT)
    with pytest.raises(ResourceNotFoundError):
        await delete.execute(ALICE, new_id(), CONTEXT)
    assert_nobody_told(uow, events)


@pytest.mark.parametrize("actor", [ALICE, ADMIN], ids=["owner", "admin"])
async def test_upload_records_file_uploaded_with_type_and_size_but_no_file_name(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
    actor: User,
) -> None:
    stored = await upload(uow, storage, clock, events).execute(
        actor, resource.id, "Ada Lovelace passport.png", chunks_of(PNG[:3], PNG[3:]), CONTEXT
    )

    expected = FileUploaded(
        occurred_at=clock.now(),
        file_id=stored.id,
        resource_id=resource.id,
        owner_id=ALICE.id,
        content_type="image/png",
        size=len(PNG),
    )
    assert_told_after_commit(uow, events, expected)
    assert "passport" not in str(uow.fake_outbox.committed_events[0].payload())


async def test_an_upload_refused_for_its_type_or_its_reader_tells_nobody(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
) -> None:
    with pytest.raises(UnsupportedFileTypeError):
        await upload(uow, storage, clock, events).execute(
            ALICE, resource.id, "x.exe", chunks_of(b"MZ\x90\x00" + b"\xff" * 64), CONTEXT
        )
    with pytest.raises(ResourceNotFoundError):
        await upload(uow, storage, clock, events).execute(
            MALLORY, resource.id, "x.png", chunks_of(PNG), CONTEXT
        )
    assert_nobody_told(uow, events)


async def test_an_upload_whose_resource_went_meanwhile_tells_nobody(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
) -> None:
    class DeletesWhileAskedAboutFiles(FakeAccessPolicy):
        async def allows(
            self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
        ) -> bool:
            if object_type == "file":
                async with uow:
                    await uow.resources.delete(resource.id)
                    await uow.commit()
            return await super().allows(user, action, object_type, owner_id=owner_id)

    with pytest.raises(ResourceNotFoundError):
        await upload(uow, storage, clock, events, DeletesWhileAskedAboutFiles()).execute(
            ALICE, resource.id, "x.png", chunks_of(PNG), CONTEXT
        )
    assert_nobody_told(uow, events)
    assert storage.blobs == {}


async def test_deleting_a_file_records_file_deleted(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
    stored_file: StoredFile,
) -> None:
    await DeleteFile(uow, POLICY, storage, clock, events).execute(
        ADMIN, resource.id, stored_file.id, CONTEXT
    )

    expected = FileDeleted(
        occurred_at=clock.now(), file_id=stored_file.id, resource_id=resource.id, owner_id=ALICE.id
    )
    assert_told_after_commit(uow, events, expected)
    assert storage.blobs == {}


async def test_a_refused_or_missing_file_delete_tells_nobody(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    storage: FakeFileStorage,
    resource: Resource,
    stored_file: StoredFile,
) -> None:
    delete = DeleteFile(uow, POLICY, storage, clock, events)
    with pytest.raises(ResourceNotFoundError):
        await delete.execute(MALLORY, resource.id, stored_file.id, CONTEXT)
    with pytest.raises(FileNotFoundInResourceError):
        await delete.execute(ALICE, resource.id, new_id(), CONTEXT)
    assert_nobody_told(uow, events)
    assert uow.fake_resource_files.committed == [stored_file]
