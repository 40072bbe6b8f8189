"""The resource and file repositories on real SQLite and PostgreSQL (migrated schema)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.entities.resource import Resource, ResourceChanges, StoredFile
from app.domain.entities.user import User
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.repositories.resource import (
    SqlAlchemyResourceFileRepository,
    SqlAlchemyResourceRepository,
)
from tests.builders import make_resource, make_stored_file
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user


async def stored_resource(connection: AsyncConnection, owner: User, name: str = "r") -> Resource:
    resource = make_resource(owner_id=owner.id, name=name, description="d")
    await SqlAlchemyResourceRepository(connection).add(resource)
    return resource


async def stored_file(connection: AsyncConnection, resource: Resource) -> StoredFile:
    stored = make_stored_file(
        resource_id=resource.id,
        owner_id=resource.owner_id,
        filename="Café notes.txt",
        size=5_000_000_000,  # past 32 bits
        sha256="ab" * 32,
        key_id="k2026",
        wrapped_key=bytes(range(60)),
    )
    await SqlAlchemyResourceFileRepository(connection).add(stored)
    return stored


async def test_a_resource_round_trips_and_replaces_only_from_its_version(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection, "alice@example.com")
    resources = SqlAlchemyResourceRepository(connection)
    resource = await stored_resource(connection, alice)
    changed = resource.apply(
        ResourceChanges(name="Renamed"), now=DEFAULT_NOW + timedelta(minutes=1)
    )

    assert await resources.get(resource.id) == resource
    assert await resources.get(new_id()) is None
    assert await resources.replace(changed, expected_version=1) is True
    assert await resources.replace(changed, expected_version=1) is False  # now at version 2
    assert await resources.get(resource.id) == changed


async def test_pages_follow_the_id_with_or_without_an_owner(connection: AsyncConnection) -> None:
    alice = await stored_user(connection, "alice@example.com")
    bob = await stored_user(connection, "bob@example.com")
    alices = [await stored_resource(connection, alice, f"a{i}") for i in range(3)]
    bobs = [await stored_resource(connection, bob, f"b{i}") for i in range(2)]
    resources = SqlAlchemyResourceRepository(connection)

    first = await resources.list_page(owner_id=alice.id, after=None, limit=2)
    rest = await resources.list_page(owner_id=alice.id, after=first[-1].id, limit=2)
    everyone = await resources.list_page(owner_id=None, after=None, limit=10)
    after_first = await resources.list_page(owner_id=None, after=everyone[0].id, limit=10)

    assert first + rest == sorted(alices, key=lambda r: r.id)
    assert everyone == sorted(alices + bobs, key=lambda r: r.id)
    assert after_first == everyone[1:]


async def test_files_round_trip_and_are_found_only_through_their_resource(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection, "alice@example.com")
    resource = await stored_resource(connection, alice)
    other = await stored_resource(connection, alice, "other")
    files = SqlAlchemyResourceFileRepository(connection)
    first = await stored_file(connection, resource)
    second = await stored_file(connection, resource)

    assert await files.get(resource.id, first.id) == first
    assert await files.get(other.id, first.id) is None
    assert await files.list_for_resource(resource.id) == sorted([first, second], key=lambda f: f.id)
    assert await files.list_for_resource(other.id) == []
    assert await files.delete(first.id) is True
    assert await files.delete(first.id) is False
    assert await files.list_for_resource(resource.id) == [second]


async def test_deleting_a_resource_deletes_its_file_rows(connection: AsyncConnection) -> None:
    alice = await stored_user(connection, "alice@example.com")
    resource = await stored_resource(connection, alice)
    kept = await stored_resource(connection, alice, "kept")
    await stored_file(connection, resource)
    kept_file = await stored_file(connection, kept)
    resources = SqlAlchemyResourceRepository(connection)
    files = SqlAlchemyResourceFileRepository(connection)

    assert await resources.delete(resource.id) is True
    assert await resources.delete(resource.id) is False
    assert await resources.get(resource.id) is None
    assert await files.list_by_owner(alice.id) == [kept_file]


async def test_an_owners_resources_and_files_are_listed_and_deleted_for_gdpr(
    connection: AsyncConnection,
) -> None:
    alice = await stored_user(connection, "alice@example.com")
    bob = await stored_user(connection, "bob@example.com")
    alices = [await stored_resource(connection, alice, f"a{i}") for i in range(2)]
    alice_files = [await stored_file(connection, r) for r in alices for _ in range(2)]
    bobs = await stored_resource(connection, bob)
    bob_file = await stored_file(connection, bobs)
    resources = SqlAlchemyResourceRepository(connection)
    files = SqlAlchemyResourceFileRepository(connection)

    assert await resources.list_by_owner(alice.id) == sorted(alices, key=lambda r: r.id)
    assert await files.list_by_owner(alice.id) == sorted(alice_files, key=lambda f: f.id)
    assert await resources.delete_by_owner(alice.id) == 2

    assert await resources.list_by_owner(alice.id) == []
    assert await files.list_by_owner(alice.id) == []
    assert await resources.list_by_owner(bob.id) == [bobs]
    assert await files.list_by_owner(bob.id) == [bob_file]


async def test_a_resource_needs_an_existing_owner(connection: AsyncConnection) -> None:
    orphan = make_resource(name="r")
    with pytest.raises(IntegrityError):
        async with connection.begin_nested():
            await SqlAlchemyResourceRepository(connection).add(orphan)
