"""Resources through the HTTP API (their files: test_resource_files)."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.e2e.conftest import USER_PASSWORD, Headers, login
from tests.e2e.test_product import assert_problem

RESOURCES = "/api/v1/resources"
MISSING = "01900000-0000-7000-8000-000000000000"


async def account(client: AsyncClient, email: str) -> Headers:
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD}
    )
    assert response.status_code == 201, response.text
    return await login(client, email, USER_PASSWORD)


async def create(client: AsyncClient, headers: Headers, **body: Any) -> dict[str, Any]:
    response = await client.post(
        RESOURCES, json={"name": "Field notes", "description": "d", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def upload(
    client: AsyncClient,
    headers: Headers,
    resource_id: str,
    content: bytes,
    filename: str = "notes.txt",
    content_type: str = "application/octet-stream",
) -> Any:
    return await client.post(
        f"{RESOURCES}/{resource_id}/files",
        files={"file": (filename, content, content_type)},
        headers=headers,
    )


# ---------------------------------------------------------------- resources


async def test_a_user_creates_reads_lists_updates_and_deletes_their_resource(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    created = await create(client, alice, name="  Field notes  ")
    url = f"{RESOURCES}/{created['id']}"

    read = await client.get(url, headers=alice)
    not_modified = await client.get(url, headers={**alice, "If-None-Match": read.headers["etag"]})
    listed = await client.get(RESOURCES, headers=alice)
    stale = await client.patch(url, json={"name": "x"}, headers={**alice, "If-Match": '"0"'})
    updated = await client.patch(
        url, json={"name": "Renamed"}, headers={**alice, "If-Match": read.headers["etag"]}
    )
    deleted = await client.delete(url, headers=alice)

    assert created["name"] == "Field notes"
    assert read.json() == created
    assert not_modified.status_code == 304
    assert [r["id"] for r in listed.json()["items"]] == [created["id"]]
    assert_problem(stale, 412, "resource.version_mismatch")
    assert updated.json()["name"] == "Renamed"
    assert updated.json()["version"] == 2
    assert deleted.status_code == 204
    assert_problem(await client.get(url, headers=alice), 404, "resource.not_found")


async def test_resource_input_is_validated(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    for body in (
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 256},
        {"name": 5},
        {"name": "a\u0000"},
        {"name": "ok", "owner_id": MISSING},
    ):
        response = await client.post(RESOURCES, json=body, headers=alice)
        assert_problem(response, 422, "validation_error")
    created = await create(client, alice, name="x" * 255)
    response = await client.patch(
        f"{RESOURCES}/{created['id']}", json={"name": None}, headers=alice
    )
    assert_problem(response, 422, "validation_error")
    assert_problem(await client.get(RESOURCES), 401, "auth.unauthenticated")


async def test_admins_see_everyones_resources_and_filter_by_owner(
    client: AsyncClient, admin_headers: Headers
) -> None:
    alice = await account(client, "alice@example.com")
    bob = await account(client, "bob@example.com")
    mine = await create(client, alice)
    theirs = await create(client, bob)

    everyone = (await client.get(RESOURCES, headers=admin_headers)).json()["items"]
    only_bob = (
        await client.get(f"{RESOURCES}?owner_id={theirs['owner_id']}", headers=admin_headers)
    ).json()["items"]
    alice_asks_for_bob = (
        await client.get(f"{RESOURCES}?owner_id={theirs['owner_id']}", headers=alice)
    ).json()["items"]

    assert {r["id"] for r in everyone} == {mine["id"], theirs["id"]}
    assert [r["id"] for r in only_bob] == [theirs["id"]]
    assert alice_asks_for_bob == []
    assert (await client.get(f"{RESOURCES}/{mine['id']}", headers=admin_headers)).status_code == 200


async def test_pages_of_resources_follow_the_cursor(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    created = {(await create(client, alice, name=f"r{i}"))["id"] for i in range(5)}

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(RESOURCES, params=params, headers=alice)).json()
        seen += [r["id"] for r in page["items"]]
        cursor = page["next_cursor"]

    assert cursor is None
    assert seen == sorted(created)
    assert_problem(
        await client.get(RESOURCES, params={"cursor": "junk"}, headers=alice),
        400,
        "pagination.invalid_cursor",
    )
    assert_problem(
        await client.get(RESOURCES, params={"limit": 0}, headers=alice), 422, "validation_error"
    )


async def test_every_route_needs_authentication(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    base = f"{RESOURCES}/{resource['id']}"

    for response in (
        await client.post(RESOURCES, json={"name": "x"}),
        await client.get(RESOURCES),
        await client.get(base),
        await client.patch(base, json={"name": "x"}),
        await client.delete(base),
        await client.post(f"{base}/files", files={"file": ("a.txt", b"hello")}),
        await client.get(f"{base}/files"),
        await client.get(f"{base}/files/{MISSING}"),
        await client.delete(f"{base}/files/{MISSING}"),
    ):
        assert_problem(response, 401, "auth.unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert (await client.get(base, headers=alice)).json() == resource


async def test_an_admin_changes_and_deletes_someone_elses_resource(
    client: AsyncClient, admin_headers: Headers
) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    url = f"{RESOURCES}/{resource['id']}"

    changed = await client.patch(url, json={"description": "moderated"}, headers=admin_headers)
    seen_by_alice = (await client.get(url, headers=alice)).json()
    deleted = await client.delete(url, headers=admin_headers)

    assert changed.status_code == 200
    assert seen_by_alice["description"] == "moderated"
    assert seen_by_alice["owner_id"] == resource["owner_id"]
    assert deleted.status_code == 204
    assert_problem(await client.get(url, headers=alice), 404, "resource.not_found")
