"""Adding a feature is additive: the throwaway note feature, declared only in the test suite, is
served, migrated, authorized, translated and exported beside the real features without editing
any shared file (`tests/throwaway_feature/`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy import select

from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.presentation.container import FeatureSettingsError
from tests.conftest import empty_all_tables
from tests.databases import fresh_database, registered_features
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    login,
    make_settings,
    running_client,
)
from tests.e2e.payments_helpers import account
from tests.throwaway_feature.feature import FEATURE as NOTE_FEATURE
from tests.throwaway_feature.feature import MIGRATIONS, notes_table

NOTES = "/api/v1/notes"


@pytest_asyncio.fixture
async def note_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database migrated to the heads of the main tree and of the note branch."""
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        await asyncio.to_thread(migrations.upgrade, url, "heads", [MIGRATIONS])
        yield url


@pytest_asyncio.fixture
async def client(note_database: str) -> AsyncIterator[AsyncClient]:
    features = registered_features().with_feature(NOTE_FEATURE)
    async with running_client(make_settings(note_database), features) as client:
        yield client


async def test_the_feature_is_served_authorized_and_translated(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    bob = await account(client, "bob@example.com")

    written = await client.post(NOTES, json={"text": "buy milk"}, headers=alice)
    assert written.status_code == 201, written.text
    note_id = written.json()["id"]
    mine = await client.get(f"{NOTES}/{note_id}", headers=alice)
    assert mine.status_code == 200
    assert mine.json()["text"] == "buy milk"

    # The owner rule its migration applied: someone else's note does not exist for Bob.
    theirs = await client.get(f"{NOTES}/{note_id}", headers={**bob, "Accept-Language": "fr"})
    assert theirs.status_code == 404
    assert theirs.json()["code"] == "note.not_found"
    assert theirs.json()["detail"] == "Cette note n'existe pas."


async def test_it_reads_settings_of_its_own(note_database: str) -> None:
    features = registered_features().with_feature(NOTE_FEATURE)
    settings = make_settings(note_database, features={"note": {"max_length": 5}})
    async with running_client(settings, features) as client:
        alice = await account(client, "alice@example.com")
        assert (await client.post(NOTES, json={"text": "short"}, headers=alice)).status_code == 201
        too_long = await client.post(NOTES, json={"text": "longer"}, headers=alice)
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "text"


async def test_invalid_settings_of_a_feature_stop_the_start_up(note_database: str) -> None:
    features = registered_features().with_feature(NOTE_FEATURE)
    settings = make_settings(note_database, features={"note": {"max_length": 0}})
    with pytest.raises(FeatureSettingsError, match="FEATURES__NOTE__"):
        async with running_client(settings, features):
            pass


async def test_its_default_rules_are_policy_an_administrator_can_change(
    client: AsyncClient,
) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    alice = await account(client, "alice@example.com")
    policy = (await client.get("/api/v1/admin/policies", headers=admin)).json()["items"]
    assert {"role": "user", "object_type": "note", "action": "create", "scope": "own"} in [
        {k: rule[k] for k in ("role", "object_type", "action", "scope")} for rule in policy
    ]

    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "note" in schema["PolicyRuleBody"]["properties"]["object_type"]["enum"]

    removed = await client.request(
        "DELETE",
        "/api/v1/admin/policies",
        json={"role": "user", "object_type": "note", "action": "create", "scope": "own"},
        headers=admin,
    )
    assert removed.status_code == 204, removed.text

    refused = await client.post(NOTES, json={"text": "not any more"}, headers=alice)
    assert refused.status_code == 403


async def test_its_data_is_exported_and_erased_with_the_account(
    client: AsyncClient, note_database: str
) -> None:
    alice = await account(client, "alice@example.com")
    await client.post(NOTES, json={"text": "buy milk"}, headers=alice)

    export = await client.get("/api/v1/users/me/export", headers=alice)
    assert export.status_code == 200
    assert [note["text"] for note in export.json()["notes"]] == ["buy milk"]
    schema = (await client.get("/openapi.json")).json()["components"]["schemas"]
    assert "notes" in schema["PersonalDataExport"]["properties"]

    erased = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": USER_PASSWORD}, headers=alice
    )
    assert erased.status_code == 204, erased.text
    database = Database(note_database)
    try:
        async with database.read_engine.connect() as connection:
            assert (await connection.execute(select(notes_table))).all() == []
    finally:
        await database.dispose()


async def test_without_the_feature_its_routes_do_not_exist(database_url: str) -> None:
    try:
        async with running_client(make_settings(database_url)) as client:
            headers = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
            response = await client.post(NOTES, json={"text": "x"}, headers=headers)
    finally:
        await empty_all_tables(database_url)
    assert response.status_code == 404


async def test_an_app_refuses_a_database_migrated_for_other_features(note_database: str) -> None:
    """The note branch is there, the note feature is not: the schema is not this code's."""
    with pytest.raises(migrations.DatabaseNotMigratedError, match="n001"):
        async with running_client(make_settings(note_database)):
            pass


def test_a_feature_registered_twice_stops_the_start_up() -> None:
    features = registered_features().with_feature(NOTE_FEATURE)
    with pytest.raises(RuntimeError, match="registered by both"):
        features.with_feature(NOTE_FEATURE)
