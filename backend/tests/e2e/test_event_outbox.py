"""Every change of the catalog, of resources and their files, of the access policy, and every
erasure leaves one outbox row with its change, named after the event and keyed by what it is
about, handed out after the response, and carrying no personal data (issue 11 §2)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from httpx import AsyncClient
from sqlalchemy import select

from app.infrastructure.database.engine import Database
from app.infrastructure.models.event import OutboxEventModel
from tests.e2e.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    USER_PASSWORD,
    Headers,
    login,
    make_settings,
    running_client,
)

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
EMAIL = "ada.lovelace@example.com"
FULL_NAME = "Ada Lovelace"
# What must never reach an outbox payload: who someone is, what they named their things.
PERSONAL = (EMAIL, "@", "Ada", "Lovelace", "Diary of Ada", "passport", "Lamp of Ada")


@pytest_asyncio.fixture
async def client(
    committing_database: Database, database_url: str, tmp_path: Path
) -> AsyncIterator[AsyncClient]:
    async with running_client(make_settings(database_url, mail_dir=tmp_path)) as client:
        yield client


async def outbox_rows(database: Database, *names: str) -> list[dict[str, Any]]:
    """The outbox rows of these events, oldest recorded first."""
    query = (
        select(OutboxEventModel)
        .where(OutboxEventModel.name.in_(names))
        .order_by(OutboxEventModel.recorded_at)
    )
    async with database.read_engine.connect() as connection:
        rows = (await connection.execute(query)).mappings().all()
    return [dict(row) for row in rows]


def told(rows: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """(event name, aggregate id) of each row, after checking it was handed out and its payload
    is free of personal data."""
    for row in rows:
        assert row["published_at"] is not None, row["name"]
        for personal in PERSONAL:
            assert personal not in row["payload"], (row["name"], personal)
    return [
        (row["name"], None if row["aggregate_id"] is None else str(row["aggregate_id"]))
        for row in rows
    ]


async def registered(client: AsyncClient) -> Headers:
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": EMAIL, "password": USER_PASSWORD, "full_name": FULL_NAME},
    )
    assert response.status_code == 201, response.text
    return await login(client, EMAIL, USER_PASSWORD)


async def test_each_product_change_leaves_its_event(
    client: AsyncClient, committing_database: Database
) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    body = {"name": "Lamp of Ada", "category": "books", "price_range": "low", "price_cents": 100}
    created = await client.post("/api/v1/products", json=body, headers=admin)
    assert created.status_code == 201, created.text
    url = f"/api/v1/products/{created.json()['id']}"
    refused = await client.patch(url, json={"category": "boats"}, headers=admin)
    assert refused.status_code == 422
    updated = await client.patch(
        url, json={"price_cents": 250, "name": "Lamp of Ada"}, headers=admin
    )
    assert updated.status_code == 200, updated.text
    assert (await client.delete(url, headers=admin)).status_code == 204
    assert (await client.delete(url, headers=admin)).status_code == 404

    rows = await outbox_rows(
        committing_database, "ProductCreated", "ProductUpdated", "ProductDeleted"
    )
    product_id = created.json()["id"]
    assert told(rows) == [
        ("ProductCreated", product_id),
        ("ProductUpdated", product_id),
        ("ProductDeleted", product_id),
    ]
    assert json.loads(rows[1]["payload"]) == {
        "product_id": product_id,
        "changed_fields": ["price_cents"],
    }


async def test_each_resource_and_file_change_leaves_its_event(
    client: AsyncClient, committing_database: Database
) -> None:
    ada = await registered(client)
    created = await client.post(
        "/api/v1/resources", json={"name": "Diary of Ada", "description": "Ada"}, headers=ada
    )
    assert created.status_code == 201, created.text
    resource_id = created.json()["id"]
    url = f"/api/v1/resources/{resource_id}"
    renamed = await client.patch(url, json={"description": "Ada Lovelace's"}, headers=ada)
    assert renamed.status_code == 200, renamed.text
    upload = await client.post(
        f"{url}/files", files={"file": ("passport.png", PNG, "image/png")}, headers=ada
    )
    assert upload.status_code == 201, upload.text
    file_id = upload.json()["id"]
    refused = await client.post(
        f"{url}/files", files={"file": ("passport.exe", b"MZ\x90\x00" + b"\xff" * 64)}, headers=ada
    )
    assert refused.status_code == 415
    assert (await client.delete(f"{url}/files/{file_id}", headers=ada)).status_code == 204
    again = await client.post(f"{url}/files", files={"file": ("passport.png", PNG)}, headers=ada)
    assert again.status_code == 201, again.text
    assert (await client.delete(url, headers=ada)).status_code == 204

    names = ("ResourceCreated", "ResourceUpdated", "FileUploaded", "FileDeleted", "ResourceDeleted")
    rows = await outbox_rows(committing_database, *names)
    assert told(rows) == [
        ("ResourceCreated", resource_id),
        ("ResourceUpdated", resource_id),
        ("FileUploaded", file_id),
        ("FileDeleted", file_id),
        ("FileUploaded", again.json()["id"]),
        ("ResourceDeleted", resource_id),
    ]
    me = (await client.get("/api/v1/users/me", headers=ada)).json()["id"]
    assert json.loads(rows[2]["payload"]) == {
        "file_id": file_id,
        "resource_id": resource_id,
        "owner_id": me,
        "content_type": "image/png",
        "size": len(PNG),
    }


async def test_each_policy_change_leaves_its_event(
    client: AsyncClient, committing_database: Database
) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    rule = {"role": "user", "object_type": "product", "action": "update", "scope": "all"}
    policies = "/api/v1/admin/policies"
    assert (await client.post(policies, json=rule, headers=admin)).status_code == 201
    assert (await client.post(policies, json=rule, headers=admin)).status_code == 409
    removed = await client.request("DELETE", policies, json=rule, headers=admin)
    assert removed.status_code == 204

    rows = await outbox_rows(committing_database, "AccessPolicyChanged")
    assert told(rows) == [("AccessPolicyChanged", None), ("AccessPolicyChanged", None)]
    assert [json.loads(row["payload"]) for row in rows] == [
        {"change": "added", **rule},
        {"change": "removed", **rule},
    ]


async def test_an_erasure_leaves_user_erased_with_only_the_id(
    client: AsyncClient, committing_database: Database
) -> None:
    ada = await registered(client)
    user_id = (await client.get("/api/v1/users/me", headers=ada)).json()["id"]
    wrong = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": "not it at all"}, headers=ada
    )
    assert wrong.status_code == 403
    erased = await client.request(
        "DELETE", "/api/v1/users/me", json={"password": USER_PASSWORD}, headers=ada
    )
    assert erased.status_code == 204, erased.text

    rows = await outbox_rows(committing_database, "UserErased")
    assert told(rows) == [("UserErased", user_id)]
    assert json.loads(rows[0]["payload"]) == {"user_id": user_id}
