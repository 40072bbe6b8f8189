"""Resource and file use cases with fakes: the owner acts, an admin acts, anyone else finds nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from uuid import UUID

import pytest

from app.application.interfaces.access import PolicyRule
from app.application.interfaces.resource import FileTooLargeError, UnsupportedFileTypeError
from app.application.pagination import InvalidCursorError
from app.application.request_context import RequestContext
from app.application.use_cases.resource.create_resource import CreateResource
from app.application.use_cases.resource.delete_file import DeleteFile
from app.application.use_cases.resource.delete_resource import DeleteResource
from app.application.use_cases.resource.download_file import DownloadFile
from app.application.use_cases.resource.get_resource import GetResource
from app.application.use_cases.resource.list_files import ListFiles
from app.application.use_cases.resource.list_resources import ListResources
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
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.adapters.content_type import PuremagicContentTypeSniffer
from tests.builders import make_resource, make_stored_file, make_user
from tests.fakes import (
    FakeAccessPolicy,
    FakeClock,
    FakeFileStorage,
    FakeResourceRepository,
    FakeUnitOfWork,
)

CONTEXT = RequestContext(ip="203.0.113.9", request_id="req-1")
ALICE = make_user(email="alice@example.com")
MALLORY = make_user(email="mallory@example.com")
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
INACTIVE_ALICE = ALICE.model_copy(update={"is_active": False})
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
MAX_BYTES = 100_000


class WatchfulPolicy(FakeAccessPolicy):
    """The default rules, refusing to be asked while a transaction is open: a real policy may read
    the database, and on SQLite it would wait on the write lock our own transaction holds."""

    def __init__(self, uow: FakeUnitOfWork, rules: Sequence[PolicyRule] | None = None) -> None:
        super().__init__(rules)
        self._uow = uow
        self.questions: list[tuple[str, str, UUID | None]] = []

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        assert not self._uow.fake_resources.in_transaction, "policy asked inside a transaction"
        self.questions.append((action, object_type, owner_id))
        return await super().allows(user, action, object_type, owner_id=owner_id)


@pytest.fixture
def policy(uow: FakeUnitOfWork) -> WatchfulPolicy:
    return WatchfulPolicy(uow)


@pytest.fixture
def storage() -> FakeFileStorage:
    return FakeFileStorage()


@pytest.fixture
def resource(uow: FakeUnitOfWork) -> Resource:
    stored = make_resource(owner_id=ALICE.id)
    uow.fake_resources.seed(stored)
    return stored


@pytest.fixture
def stored_file(uow: FakeUnitOfWork, storage: FakeFileStorage, resource: Resource) -> StoredFile:
    stored = make_stored_file(
        resource_id=resource.id, owner_id=resource.owner_id, storage_key="fake/notes"
    )
    uow.fake_resource_files.seed(stored)
    storage.blobs[stored.storage_key] = b"hello"
    return stored


ALLOWED = [pytest.param(ALICE, id="owner"), pytest.param(ADMIN, id="admin")]
REFUSED = [
    pytest.param(MALLORY, id="other-user"),
    pytest.param(INACTIVE_ALICE, id="inactive-owner"),
]


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def delete_elsewhere(uow: FakeUnitOfWork, resource: Resource) -> None:
    """Another request deletes the resource and commits (between a check and a write)."""
    async with uow:
        await uow.resources.delete(resource.id)
        await uow.commit()


def upload_use_case(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, storage: FakeFileStorage, clock: FakeClock
) -> UploadFile:
    return UploadFile(
        uow, policy, storage, PuremagicContentTypeSniffer(), clock, max_bytes=MAX_BYTES
    )


# ---------------------------------------------------------------- CreateResource


async def test_create_stores_the_callers_resource_with_an_audit_event(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock
) -> None:
    created = await CreateResource(uow, policy, clock).execute(
        ALICE, name=" Notes ", description="d", context=CONTEXT
    )

    assert uow.fake_resources.committed == [created]
    assert (created.owner_id, created.name, created.version) == (ALICE.id, "Notes", 1)
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.actor_id, event.target_id) == (
        "resource.create",
        ALICE.id,
        str(created.id),
    )
    assert (event.ip, event.request_id) == (CONTEXT.ip, CONTEXT.request_id)


async def test_create_is_refused_when_the_policy_says_no(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    with pytest.raises(PermissionDeniedError):
        await CreateResource(uow, FakeAccessPolicy(rules=[]), clock).execute(
            ALICE, name="Notes", description="", context=CONTEXT
        )
    assert uow.fake_resources.committed == []


async def test_create_refuses_a_blank_name(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock
) -> None:
    with pytest.raises(InvalidValueError):
        await CreateResource(uow, policy, clock).execute(
            ALICE, name="   ", description="", context=CONTEXT
        )
    assert uow.committed == 0


# ---------------------------------------------------------------- GetResource / ListResources


@pytest.mark.parametrize("actor", ALLOWED)
async def test_the_owner_and_an_admin_read_a_resource(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, resource: Resource, actor: User
) -> None:
    assert await GetResource(uow, policy).execute(actor, resource.id) == resource
    assert policy.questions == [("read", "resource", ALICE.id)]


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_finds_no_resource(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, resource: Resource, actor: User
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await GetResource(uow, policy).execute(actor, resource.id)


async def test_a_missing_resource_is_the_same_404(
    uow: FakeUnitOfWork, policy: WatchfulPolicy
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await GetResource(uow, policy).execute(ADMIN, new_id())
    assert policy.questions == []


def seed_resources(uow: FakeUnitOfWork, owner: User, count: int) -> list[Resource]:
    resources = [make_resource(owner_id=owner.id, name=f"r{i}") for i in range(count)]
    uow.fake_resources.seed(*resources)
    return sorted(resources, key=lambda r: r.id)


async def test_a_user_lists_only_their_own_page_by_page(
    uow: FakeUnitOfWork, policy: WatchfulPolicy
) -> None:
    mine = seed_resources(uow, ALICE, 5)
    seed_resources(uow, MALLORY, 3)
    list_resources = ListResources(uow, policy)

    first = await list_resources.execute(ALICE, owner_id=None, limit=2, cursor=None)
    second = await list_resources.execute(ALICE, owner_id=None, limit=2, cursor=first.next_cursor)
    last = await list_resources.execute(ALICE, owner_id=None, limit=2, cursor=second.next_cursor)

    assert first.items + second.items + last.items == mine
    assert last.next_cursor is None


async def test_a_user_asking_for_someone_elses_get_an_empty_page(
    uow: FakeUnitOfWork, policy: WatchfulPolicy
) -> None:
    seed_resources(uow, MALLORY, 2)
    mine = seed_resources(uow, ALICE, 1)
    list_resources = ListResources(uow, policy)

    theirs = await list_resources.execute(ALICE, owner_id=MALLORY.id, limit=20, cursor=None)
    own = await list_resources.execute(ALICE, owner_id=ALICE.id, limit=20, cursor=None)

    assert (theirs.items, theirs.next_cursor) == ([], None)
    assert own.items == mine


async def test_an_admin_lists_everyones_or_filters_by_owner(
    uow: FakeUnitOfWork, policy: WatchfulPolicy
) -> None:
    alices = seed_resources(uow, ALICE, 2)
    mallorys = seed_resources(uow, MALLORY, 2)
    list_resources = ListResources(uow, policy)

    everyone = await list_resources.execute(ADMIN, owner_id=None, limit=20, cursor=None)
    only_mallory = await list_resources.execute(ADMIN, owner_id=MALLORY.id, limit=20, cursor=None)

    assert everyone.items == sorted(alices + mallorys, key=lambda r: r.id)
    assert only_mallory.items == mallorys


@pytest.mark.parametrize(("limit", "cursor"), [(0, None), (101, None), (20, "not-a-cursor")])
async def test_bad_paging_is_refused(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, limit: int, cursor: str | None
) -> None:
    with pytest.raises((InvalidValueError, InvalidCursorError)):
        await ListResources(uow, policy).execute(ALICE, owner_id=None, limit=limit, cursor=cursor)


# ---------------------------------------------------------------- UpdateResource


@pytest.mark.parametrize("actor", ALLOWED)
async def test_the_owner_and_an_admin_change_a_resource(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock, resource: Resource, actor: User
) -> None:
    later = clock.advance()
    updated = await UpdateResource(uow, policy, clock).execute(
        actor, resource.id, ResourceChanges(name="Renamed"), CONTEXT, expected_versions=[1]
    )

    assert (updated.name, updated.version, updated.updated_at) == ("Renamed", 2, later)
    assert updated.owner_id == ALICE.id  # an admin's change keeps the owner
    assert uow.fake_resources.committed == [updated]
    assert uow.fake_audit_events.actions == ["resource.update"]
    assert uow.fake_audit_events.committed[0].actor_id == actor.id


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_cannot_change_a_resource(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock, resource: Resource, actor: User
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await UpdateResource(uow, policy, clock).execute(
            actor, resource.id, ResourceChanges(name="pwned"), CONTEXT
        )
    assert uow.fake_resources.committed == [resource]
    assert uow.fake_audit_events.committed == []


async def test_a_stale_version_is_a_mismatch(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock, resource: Resource
) -> None:
    with pytest.raises(ResourceVersionMismatchError) as raised:
        await UpdateResource(uow, policy, clock).execute(
            ALICE, resource.id, ResourceChanges(name="x"), CONTEXT, expected_versions=[7]
        )
    assert raised.value.params == {"current_version": 1}
    assert uow.fake_resources.committed == [resource]


async def test_no_changes_return_the_resource_untouched(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock, resource: Resource
) -> None:
    same = await UpdateResource(uow, policy, clock).execute(
        ALICE, resource.id, ResourceChanges(), CONTEXT
    )
    assert same == resource
    assert uow.committed == 0


async def test_a_change_lost_to_a_concurrent_one_is_a_mismatch(
    uow: FakeUnitOfWork, policy: WatchfulPolicy, clock: FakeClock, resource: Resource
) -> None:
    class RaceRepository(FakeResourceRepository):
        async def replace(self, resource: Resource, *, expected_version: int) -> bool:
            return False

    racing = RaceRepository()
    racing._files = uow.fake_resource_files
    racing.seed(resource)
    uow.fake_resources = uow.resources = racing

    with pytest.raises(ResourceVersionMismatchError):
        await UpdateResource(uow, policy, clock).execute(
            ALICE, resource.id, ResourceChanges(name="x"), CONTEXT
        )
    assert uow.fake_audit_events.committed == []


async def test_a_resource_deleted_after_the_check_is_not_found(
    uow: FakeUnitOfWork, clock: FakeClock, resource: Resource
) -> None:
    class DeletesMeanwhile(FakeAccessPolicy):
        async def allows(
            self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
        ) -> bool:
            await delete_elsewhere(uow, resource)
            return True

    with pytest.raises(ResourceNotFoundError):
        await UpdateResource(uow, DeletesMeanwhile(), clock).execute(
            ALICE, resource.id, ResourceChanges(name="x"), CONTEXT
        )


# ---------------------------------------------------------------- DeleteResource


@pytest.mark.parametrize("actor", ALLOWED)
async def test_deleting_a_resource_removes_its_files_and_then_their_ciphertext(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    await DeleteResource(uow, policy, storage, clock).execute(actor, resource.id, CONTEXT)

    assert uow.fake_resources.committed == []
    assert uow.fake_resource_files.committed == []
    assert storage.blobs == {}
    assert uow.fake_audit_events.actions == ["resource.delete"]


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_cannot_delete_a_resource(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await DeleteResource(uow, policy, storage, clock).execute(actor, resource.id, CONTEXT)
    assert uow.fake_resources.committed == [resource]
    assert uow.fake_resource_files.committed == [stored_file]
    assert storage.blobs == {stored_file.storage_key: b"hello"}


async def test_a_user_allowed_to_read_but_not_delete_gets_404(
    uow: FakeUnitOfWork,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
) -> None:
    read_only = FakeAccessPolicy(rules=[PolicyRule("user", "resource", "read", "own")])
    assert await GetResource(uow, read_only).execute(ALICE, resource.id) == resource
    with pytest.raises(ResourceNotFoundError):
        await DeleteResource(uow, read_only, storage, clock).execute(ALICE, resource.id, CONTEXT)


# ---------------------------------------------------------------- UploadFile


@pytest.mark.parametrize("actor", ALLOWED)
async def test_an_upload_is_sniffed_stored_and_recorded_for_the_owner(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    actor: User,
) -> None:
    stored = await upload_use_case(uow, policy, storage, clock).execute(
        actor, resource.id, "../x/Photo.PNG", chunks_of(PNG[:5], PNG[5:]), CONTEXT
    )

    assert (stored.filename, stored.content_type, stored.size) == (
        "Photo.PNG",
        "image/png",
        len(PNG),
    )
    assert stored.owner_id == ALICE.id  # even when an admin uploads
    assert uow.fake_resource_files.committed == [stored]
    assert storage.blobs[stored.storage_key] == PNG
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.actor_id, event.target_id) == (
        "file.upload",
        actor.id,
        str(stored.id),
    )


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_cannot_upload_and_nothing_is_read(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    actor: User,
) -> None:
    read: list[bytes] = []

    async def watched() -> AsyncIterator[bytes]:
        read.append(PNG)
        yield PNG

    with pytest.raises(ResourceNotFoundError):
        await upload_use_case(uow, policy, storage, clock).execute(
            actor, resource.id, "a.png", watched(), CONTEXT
        )
    assert read == []
    assert storage.blobs == {}


async def test_a_user_who_may_read_but_not_add_files_gets_404(
    uow: FakeUnitOfWork, storage: FakeFileStorage, clock: FakeClock, resource: Resource
) -> None:
    no_file_create = FakeAccessPolicy(rules=[PolicyRule("user", "resource", "read", "own")])
    with pytest.raises(ResourceNotFoundError):
        await upload_use_case(uow, no_file_create, storage, clock).execute(
            ALICE, resource.id, "a.png", chunks_of(PNG), CONTEXT
        )


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"MZ\x90\x00" + b"\x00" * 100, id="executable"),
        pytest.param(b"", id="empty"),
        pytest.param(b"<html><script>alert(1)</script></html>", id="html"),
        pytest.param(b"plain start " * 1000 + b"\x00binary tail", id="nul-after-the-sniffed-head"),
        pytest.param(b"plain start " * 1000 + b"caf\xe9", id="latin-1-after-the-head"),
        pytest.param(b"ends mid-character \xc3", id="truncated-utf8"),
    ],
)
async def test_a_disallowed_type_is_refused_and_nothing_is_kept(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    content: bytes,
) -> None:
    pieces = [content[i : i + 4096] for i in range(0, len(content), 4096)]
    with pytest.raises(UnsupportedFileTypeError):
        await upload_use_case(uow, policy, storage, clock).execute(
            ALICE, resource.id, "photo.png", chunks_of(*pieces), CONTEXT
        )
    assert storage.blobs == {}
    assert uow.fake_resource_files.committed == []


async def test_utf8_text_is_accepted_even_split_inside_a_character(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
) -> None:
    text = "naïve café — 日本語\n".encode() * 10
    pieces = [text[i : i + 7] for i in range(0, len(text), 7)]  # splits multi-byte characters
    stored = await upload_use_case(uow, policy, storage, clock).execute(
        ALICE, resource.id, None, chunks_of(*pieces), CONTEXT
    )
    assert (stored.content_type, stored.filename) == ("text/plain", "file")
    assert storage.blobs[stored.storage_key] == text


async def test_an_upload_over_the_limit_stores_nothing(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
) -> None:
    with pytest.raises(FileTooLargeError):
        await upload_use_case(uow, policy, storage, clock).execute(
            ALICE, resource.id, "big.txt", chunks_of(b"a" * MAX_BYTES, b"a"), CONTEXT
        )
    assert storage.blobs == {}
    assert uow.fake_resource_files.committed == []


async def test_an_upload_whose_resource_vanished_meanwhile_leaves_no_ciphertext(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
) -> None:
    async def deleted_while_streaming() -> AsyncIterator[bytes]:
        yield PNG
        await delete_elsewhere(uow, resource)

    with pytest.raises(ResourceNotFoundError):
        await upload_use_case(uow, policy, storage, clock).execute(
            ALICE, resource.id, "a.png", deleted_while_streaming(), CONTEXT
        )
    assert storage.blobs == {}
    assert uow.fake_resource_files.committed == []
    assert uow.fake_audit_events.committed == []


# ---------------------------------------------------------------- ListFiles / DownloadFile


@pytest.mark.parametrize("actor", ALLOWED)
async def test_the_owner_and_an_admin_list_and_download_files(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    listed = await ListFiles(uow, policy).execute(actor, resource.id)
    download = await DownloadFile(uow, policy, storage).execute(actor, resource.id, stored_file.id)

    assert listed == [stored_file]
    assert download.file == stored_file
    assert b"".join([chunk async for chunk in download.chunks]) == b"hello"


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_cannot_list_or_download_files(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await ListFiles(uow, policy).execute(actor, resource.id)
    with pytest.raises(ResourceNotFoundError):
        await DownloadFile(uow, policy, storage).execute(actor, resource.id, stored_file.id)


async def test_a_file_of_another_resource_is_not_found_through_this_one(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    stored_file: StoredFile,
) -> None:
    # Mallory's own resource, and Alice's file id: the pair does not match, so nothing leaks.
    theirs = make_resource(owner_id=MALLORY.id, name="Mine")
    uow.fake_resources.seed(theirs)

    with pytest.raises(FileNotFoundInResourceError):
        await DownloadFile(uow, policy, storage).execute(MALLORY, theirs.id, stored_file.id)
    with pytest.raises(FileNotFoundInResourceError):
        await DeleteFile(uow, policy, storage, clock).execute(
            MALLORY, theirs.id, stored_file.id, CONTEXT
        )
    assert uow.fake_resource_files.committed == [stored_file]


# ---------------------------------------------------------------- DeleteFile


@pytest.mark.parametrize("actor", ALLOWED)
async def test_deleting_a_file_removes_its_row_then_its_ciphertext(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    await DeleteFile(uow, policy, storage, clock).execute(
        actor, resource.id, stored_file.id, CONTEXT
    )

    assert uow.fake_resource_files.committed == []
    assert storage.blobs == {}
    [event] = uow.fake_audit_events.committed
    assert (event.action, event.target_id) == ("file.delete", str(stored_file.id))


@pytest.mark.parametrize("actor", REFUSED)
async def test_anyone_else_cannot_delete_a_file(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
    stored_file: StoredFile,
    actor: User,
) -> None:
    with pytest.raises(ResourceNotFoundError):
        await DeleteFile(uow, policy, storage, clock).execute(
            actor, resource.id, stored_file.id, CONTEXT
        )
    assert uow.fake_resource_files.committed == [stored_file]
    assert storage.blobs == {stored_file.storage_key: b"hello"}


async def test_deleting_a_missing_file_is_not_found(
    uow: FakeUnitOfWork,
    policy: WatchfulPolicy,
    storage: FakeFileStorage,
    clock: FakeClock,
    resource: Resource,
) -> None:
    with pytest.raises(FileNotFoundInResourceError):
        await DeleteFile(uow, policy, storage, clock).execute(ALICE, resource.id, new_id(), CONTEXT)
    assert uow.committed == 0
