"""Files of resources through the HTTP API: streamed, sniffed, size-limited uploads, encrypted
storage, downloads, and the BOLA matrix over every resource and file route."""

from __future__ import annotations

import hashlib
import io
import wave
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from httpx import AsyncClient

from tests.conftest import empty_all_tables
from tests.e2e.conftest import SCRATCH_DIR, Headers, make_settings, running_client
from tests.e2e.test_product import assert_problem
from tests.e2e.test_resource import MISSING, RESOURCES, account, create, upload

MARKER = b"STRATA-PLAINTEXT-MARKER-0123456789"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


def wav_bytes(frames: int = 2000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x01\x02" * frames)
    return buffer.getvalue()


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


# Each malformed multipart body, as (case, Content-Type of the request, body, status, code).
BOUNDARY = "strata-case-boundary"
FILE_HEADERS = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
).encode()
CONTENT = MARKER * 4
CLOSE = f"\r\n--{BOUNDARY}--\r\n".encode()
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


def part(disposition: str, content: bytes = CONTENT, boundary: str = BOUNDARY) -> bytes:
    return f"--{boundary}\r\n{disposition}\r\n\r\n".encode() + content + b"\r\n"


MALFORMED_MULTIPART: list[tuple[str, str, bytes, int, str]] = [
    ("missing boundary parameter", "multipart/form-data", FILE_HEADERS, 400, "malformed_request"),
    ("empty boundary", "multipart/form-data; boundary=", FILE_HEADERS, 400, "malformed_request"),
    (
        "boundary of 257 characters",
        f"multipart/form-data; boundary={'b' * 257}",
        part('Content-Disposition: form-data; name="file"', boundary="b" * 257)
        + f"--{'b' * 257}--\r\n".encode(),
        400,
        "malformed_request",
    ),
    (
        "boundary of 71 characters (RFC 2046: at most 70)",
        f"multipart/form-data; boundary={'b' * 71}",
        part('Content-Disposition: form-data; name="file"', boundary="b" * 71)
        + f"--{'b' * 71}--\r\n".encode(),
        400,
        "malformed_request",
    ),
    (
        "boundary with illegal characters",
        'multipart/form-data; boundary="a{b}<c>"',
        part('Content-Disposition: form-data; name="file"', boundary="a{b}<c>")
        + b"--a{b}<c>--\r\n",
        400,
        "malformed_request",
    ),
    (
        "boundary ending in a space",
        'multipart/form-data; boundary="abc "',
        part('Content-Disposition: form-data; name="file"', boundary="abc ") + b"--abc --\r\n",
        400,
        "malformed_request",
    ),
    ("no closing boundary", MULTIPART, FILE_HEADERS + CONTENT, 400, "malformed_request"),
    (
        "a delimiter but no closing one",
        MULTIPART,
        FILE_HEADERS + CONTENT + f"\r\n--{BOUNDARY}".encode(),
        400,
        "malformed_request",
    ),
    (
        "a second part that never ends",
        MULTIPART,
        FILE_HEADERS + CONTENT + f"\r\n--{BOUNDARY}\r\nContent-Disposition: form".encode(),
        400,
        "malformed_request",
    ),
    (
        "body ends mid-headers",
        MULTIPART,
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="fi'.encode(),
        400,
        "malformed_request",
    ),
    ("body ends mid-part", MULTIPART, FILE_HEADERS + CONTENT[:50], 400, "malformed_request"),
    ("empty body", MULTIPART, b"", 400, "malformed_request"),
    (
        "no file part",
        MULTIPART,
        part('Content-Disposition: form-data; name="other"; filename="a.txt"') + CLOSE[2:],
        422,
        "file.missing",
    ),
    (
        "two file parts",
        MULTIPART,
        FILE_HEADERS + CONTENT + b"\r\n" + FILE_HEADERS + CONTENT + CLOSE,
        400,
        "malformed_request",
    ),
    (
        "garbage before the first boundary",
        MULTIPART,
        b"garbage\r\n" + FILE_HEADERS + CONTENT + CLOSE,
        400,
        "malformed_request",
    ),
    (
        "a part without Content-Disposition",
        MULTIPART,
        part("Content-Type: text/plain") + FILE_HEADERS + CONTENT + CLOSE,
        400,
        "malformed_request",
    ),
    (
        "a part that is not form-data",
        MULTIPART,
        part('Content-Disposition: attachment; name="file"; filename="a.txt"') + CLOSE[2:],
        400,
        "malformed_request",
    ),
    (
        "a part without a name",
        MULTIPART,
        part('Content-Disposition: form-data; filename="a.txt"') + FILE_HEADERS + CONTENT + CLOSE,
        400,
        "malformed_request",
    ),
    (
        "header line too long",
        MULTIPART,
        f"--{BOUNDARY}\r\nX-Padding: {'p' * 10_000}\r\n".encode()
        + FILE_HEADERS[len(BOUNDARY) + 4 :]
        + CONTENT
        + CLOSE,
        400,
        "malformed_request",
    ),
    (
        "a text/plain request",
        "text/plain",
        FILE_HEADERS + CONTENT + CLOSE,
        415,
        "unsupported_media_type",
    ),
    (
        "a urlencoded request",
        "application/x-www-form-urlencoded",
        b"file=abc",
        415,
        "unsupported_media_type",
    ),
    ("no Content-Type", "", FILE_HEADERS + CONTENT + CLOSE, 415, "unsupported_media_type"),
]


def stored_files() -> set[Path]:
    return {path for path in (SCRATCH_DIR / "files").rglob("*") if path.is_file()}


async def test_malformed_multipart_of_every_kind_is_a_4xx_problem_and_stores_nothing(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    url = f"{RESOURCES}/{resource['id']}/files"
    before = stored_files()
    wrong: list[str] = []

    for case, content_type, body, status, code in MALFORMED_MULTIPART:
        headers = {**alice, "Content-Type": content_type}
        try:
            response = await client.post(url, content=body, headers=headers)
        except Exception as exc:  # a 500: the app raised, and the transport re-raises it
            wrong.append(f"{case}: raised {exc!r}")
            continue
        got = (response.status_code, response.headers.get("content-type"))
        if got != (status, "application/problem+json") or response.json()["code"] != code:
            wrong.append(f"{case}: {response.status_code} {response.text[:120]}")

    assert not wrong, "\n".join(wrong)
    files = (await client.get(url, headers=alice)).json()["items"]
    assert files == []
    assert stored_files() == before  # no ciphertext, not even a partial one


async def test_a_well_formed_upload_with_other_fields_and_an_epilogue_is_stored(
    client: AsyncClient,
) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    body = (
        b"\r\n"  # leading line breaks before the first boundary are tolerated
        + part('Content-Disposition: form-data; name="note"', b"hello")
        + FILE_HEADERS
        + CONTENT
        + CLOSE
        + b"an epilogue, which RFC 2046 says to ignore"
    )

    response = await client.post(
        f"{RESOURCES}/{resource['id']}/files",
        content=body,
        headers={**alice, "Content-Type": f'multipart/form-data; boundary="{BOUNDARY}"'},
    )

    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(CONTENT)


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


async def test_an_upload_stops_being_read_as_soon_as_it_passes_the_limit(
    small_limit_client: AsyncClient,
) -> None:
    client = small_limit_client
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    boundary = "strata-test-boundary"
    sent = 0
    total_pieces = 200  # 200 pieces of 64 KiB = 12.8 MiB offered against a 100 kB limit

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        for _ in range(total_pieces):
            sent += 1
            yield b"a" * 65_536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = await client.post(
        f"{RESOURCES}/{resource['id']}/files",
        content=body(),
        headers={**alice, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )

    assert_problem(response, 413, "file.too_large")
    assert sent <= 3  # 100 kB is passed within the second piece; the rest was never read
    files = (await client.get(f"{RESOURCES}/{resource['id']}/files", headers=alice)).json()
    assert files["items"] == []


async def test_a_declared_body_far_over_the_limit_is_refused_before_it_is_read(
    small_limit_client: AsyncClient,
) -> None:
    client = small_limit_client
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)

    response = await upload(client, alice, resource["id"], b"a" * 2_000_000)

    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_admin_reaches_everyones_files_and_the_owner_keeps_them(
    client: AsyncClient, admin_headers: Headers
) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    base = f"{RESOURCES}/{resource['id']}/files"
    by_admin = await upload(client, admin_headers, resource["id"], PNG, filename="scan.png")
    by_alice = (await upload(client, alice, resource["id"], MARKER)).json()

    listed = (await client.get(base, headers=admin_headers)).json()["items"]
    downloaded = await client.get(f"{base}/{by_alice['id']}", headers=admin_headers)
    deleted = await client.delete(f"{base}/{by_alice['id']}", headers=admin_headers)

    assert by_admin.status_code == 201
    assert {f["id"] for f in listed} == {by_admin.json()["id"], by_alice["id"]}
    assert downloaded.content == MARKER
    assert deleted.status_code == 204
    remaining = (await client.get(base, headers=alice)).json()["items"]
    assert [f["id"] for f in remaining] == [by_admin.json()["id"]]  # Alice owns the admin's upload


async def test_a_download_names_the_file_safely(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    boundary = "b0undary"
    # Sent raw: an HTTP client would escape the quote and the tab itself.
    raw_name = 'C:\\Users\\x\\R\u00e9"sum\u00e9\t; filename=evil.exe.txt'.encode()
    body = (
        f"--{boundary}\r\n".encode()
        + b'Content-Disposition: form-data; name="file"; filename="'
        + raw_name.replace(b'"', b'\\"')
        + b'"\r\n\r\ncv\r\n'
        + f"--{boundary}--\r\n".encode()
    )

    uploaded = await client.post(
        f"{RESOURCES}/{resource['id']}/files",
        content=body,
        headers={**alice, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    download = await client.get(uploaded.headers["location"], headers=alice)

    assert uploaded.status_code == 201, uploaded.text
    stored_name = uploaded.json()["filename"]
    assert "\\" not in stored_name
    assert "\t" not in stored_name
    assert '"' not in stored_name
    assert stored_name.startswith("R\u00e9")
    assert stored_name.endswith("; filename=evil.exe.txt")
    disposition = download.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="R_')
    assert disposition.count('"') == 2  # one quoted fallback name, nothing injected after it
    assert "filename*=UTF-8''R%C3%A9" in disposition
    assert download.headers["content-length"] == "2"
    assert download.content == b"cv"
    assert download.headers["x-content-type-options"] == "nosniff"


async def test_unknown_files_and_resources_are_404(client: AsyncClient) -> None:
    alice = await account(client, "alice@example.com")
    resource = await create(client, alice)
    base = f"{RESOURCES}/{resource['id']}/files"

    assert_problem(await client.get(f"{base}/{MISSING}", headers=alice), 404, "file.not_found")
    assert_problem(await client.delete(f"{base}/{MISSING}", headers=alice), 404, "file.not_found")
    assert_problem(
        await client.get(f"{RESOURCES}/{MISSING}/files", headers=alice), 404, "resource.not_found"
    )
    assert_problem(await upload(client, alice, MISSING, b"hello"), 404, "resource.not_found")
