"""Resources and their encrypted files through the HTTP API, including a BOLA matrix."""

from __future__ import annotations

import hashlib
import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.e2e.conftest import (
    SCRATCH_DIR,
    USER_PASSWORD,
    Headers,
    login,
    make_settings,
    running_client,
)
from tests.e2e.test_product import assert_problem

RESOURCES = "/api/v1/resources"
MARKER = b"STRATA-PLAINTEXT-MARKER-0123456789"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
MISSING = "01900000-0000-7000-8000-000000000000"


def wav_bytes(frames: int = 2000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x01\x02" * frames)
    return buffer.getvalue()


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


# ---------------------------------------------------------------- files


async def test_a_file_round_trips_and_is_stored_encrypted(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    content = MARKER * 5000  # about 170 KiB: several encrypted chunks

    uploaded = await upload(client, alice, resource["id"], content, filename="../../etc/Notes.txt")

    assert uploaded.status_code == 201, uploaded.text
    body = uploaded.json()
    assert body["filename"] == "Notes.txt"
    assert body["content_type"] == "text/plain"
    assert body["size"] == len(content)
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert uploaded.headers["location"].endswith(body["id"])
    download = await client.get(uploaded.headers["location"], headers=alice)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"].startswith("text/plain")
    assert "attachment" in download.headers["content-disposition"]
    stored = [path for path in (SCRATCH_DIR / "files").rglob("*") if path.is_file()]
    assert any(body["id"].replace("-", "") in path.name for path in stored)
    for path in stored:
        assert MARKER not in path.read_bytes()
    listed = (await client.get(f"{RESOURCES}/{resource['id']}/files", headers=alice)).json()
    assert [f["id"] for f in listed["items"]] == [body["id"]]


async def test_audio_pdf_and_images_are_recognised_by_content_not_name(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)

    wav = await upload(client, alice, resource["id"], wav_bytes(), filename="voice.bin")
    png = await upload(client, alice, resource["id"], PNG, filename="picture.txt")

    assert wav.json()["content_type"] == "audio/wav"
    assert png.json()["content_type"] == "image/png"


async def test_a_disallowed_type_is_415_whatever_its_name(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)

    for content in (
        b"MZ\x90\x00" + b"\x00" * 200,
        b"PK\x03\x04" + b"\x00" * 100,
        b"\x00\x01\x02binary",
    ):
        response = await upload(client, alice, resource["id"], content, "photo.png", "image/png")
        assert_problem(response, 415, "file.unsupported_type")
    assert (await client.get(f"{RESOURCES}/{resource['id']}/files", headers=alice)).json()[
        "items"
    ] == []


async def test_malformed_uploads_are_4xx(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    url = f"{RESOURCES}/{resource['id']}/files"

    not_multipart = await client.post(
        url, content=b"raw", headers={**alice, "Content-Type": "text/plain"}
    )
    no_file = await client.post(url, files={"other": ("a.txt", b"hello")}, headers=alice)
    no_boundary = await client.post(
        url, content=b"x", headers={**alice, "Content-Type": "multipart/form-data"}
    )
    empty = await upload(client, alice, resource["id"], b"")

    assert_problem(not_multipart, 415, "unsupported_media_type")
    assert_problem(no_file, 422, "file.missing")
    assert_problem(no_boundary, 400, "malformed_request")
    assert_problem(empty, 415, "file.unsupported_type")


@pytest_asyncio.fixture
async def small_limit_client(database_url: str) -> AsyncIterator[AsyncClient]:
    async with running_client(make_settings(database_url, max_upload_bytes=100_000)) as client:
        yield client
    await empty_all_tables(database_url)


async def test_an_upload_over_the_limit_is_413_and_leaves_nothing(
    small_limit_client: AsyncClient,
) -> None:
    client = small_limit_client
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    before = {p for p in (SCRATCH_DIR / "files").rglob("*") if p.is_file()}

    response = await upload(client, alice, resource["id"], b"a" * 100_001)
    at_limit = await upload(client, alice, resource["id"], b"a" * 100_000)

    assert_problem(response, 413, "file.too_large")
    assert at_limit.status_code == 201
    after = {p for p in (SCRATCH_DIR / "files").rglob("*") if p.is_file()}
    assert len(after - before) == 1  # only the accepted one; no partial file left behind
    files = (await client.get(f"{RESOURCES}/{resource['id']}/files", headers=alice)).json()
    assert len(files["items"]) == 1


async def test_deleting_files_and_resources_removes_their_ciphertext(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    first = (await upload(client, alice, resource["id"], b"first file " * 10)).json()
    second = (await upload(client, alice, resource["id"], b"second file " * 10)).json()

    def stored(file_id: str) -> list[Path]:
        return list((SCRATCH_DIR / "files").rglob(f"*{file_id.replace('-', '')}*"))

    assert stored(first["id"])
    assert stored(second["id"])
    response = await client.delete(
        f"{RESOURCES}/{resource['id']}/files/{first['id']}", headers=alice
    )
    assert response.status_code == 204
    assert stored(first["id"]) == []
    assert_problem(
        await client.get(f"{RESOURCES}/{resource['id']}/files/{first['id']}", headers=alice),
        404,
        "file.not_found",
    )
    await client.delete(f"{RESOURCES}/{resource['id']}", headers=alice)
    assert stored(second["id"]) == []


async def test_a_tampered_file_is_never_served(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    body = (await upload(client, alice, resource["id"], MARKER * 10)).json()
    [path] = list((SCRATCH_DIR / "files").rglob(f"*{body['id'].replace('-', '')}*"))
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))

    response = await client.get(f"{RESOURCES}/{resource['id']}/files/{body['id']}", headers=alice)

    assert_problem(response, 500, "file.corrupt")
    assert MARKER not in response.content


# ---------------------------------------------------------------- BOLA matrix


async def test_another_user_gets_404_on_every_route_and_changes_nothing(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    mallory = await account(client, "mallory@example.com")
    resource = await create(client, alice)
    content = MARKER * 3
    stored = (await upload(client, alice, resource["id"], content)).json()
    base = f"{RESOURCES}/{resource['id']}"
    file_url = f"{base}/files/{stored['id']}"

    attempts = [
        await client.get(base, headers=mallory),
        await client.patch(base, json={"name": "pwned"}, headers=mallory),
        await client.delete(base, headers=mallory),
        await client.get(f"{base}/files", headers=mallory),
        await upload(client, mallory, resource["id"], b"planted text"),
        await client.get(file_url, headers=mallory),
        await client.delete(file_url, headers=mallory),
    ]

    for response in attempts:
        assert response.status_code == 404, (response.request.method, response.request.url)
        assert response.json()["code"] in ("resource.not_found", "file.not_found")
    listed = (
        await client.get(f"{RESOURCES}?owner_id={resource['owner_id']}", headers=mallory)
    ).json()
    assert listed["items"] == []
    assert (await client.get(base, headers=alice)).json() == resource
    files = (await client.get(f"{base}/files", headers=alice)).json()["items"]
    assert [f["id"] for f in files] == [stored["id"]]
    assert (await client.get(file_url, headers=alice)).content == content
    # Unknown ids look exactly the same as someone else's.
    unknown = await client.get(f"{RESOURCES}/{MISSING}", headers=mallory)
    assert unknown.json()["code"] == attempts[0].json()["code"]
