"""The streaming multipart reader: a body cut short anywhere, or by a client going away, is
malformed; a well-formed one yields the file's bytes however the body is split into chunks."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from app.application.errors import MalformedRequestError
from app.presentation.api.v1.uploads import stream_file_part

BOUNDARY = "unit-boundary"
CONTENT = b"first line\r\nsecond line with --unit-boundar y-like bytes\r\n" * 3
BODY = (
    (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="note"\r\n\r\nhi\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    + CONTENT
    + f"\r\n--{BOUNDARY}--\r\n".encode()
)


def request_of(chunks: Sequence[bytes], *, disconnect: bool = False) -> Request:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks
    ]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    else:
        messages.append({"type": "http.request", "body": b"", "more_body": False})

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/upload",
        "headers": [(b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode())],
    }
    return Request(scope, receive)


async def read_upload(request: Request) -> tuple[str | None, bytes]:
    upload = await stream_file_part(request)
    return upload.filename, b"".join([chunk async for chunk in upload.chunks])


@given(st.lists(st.integers(min_value=0, max_value=len(BODY)), max_size=8))
async def test_a_well_formed_body_yields_the_file_however_it_is_split(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(BODY)]
    chunks = [BODY[start:end] for start, end in itertools.pairwise(points)]

    assert await read_upload(request_of(chunks)) == ("a.txt", CONTENT)


@pytest.mark.parametrize("disconnect", [False, True], ids=["body ended", "client went away"])
async def test_a_body_cut_anywhere_is_malformed(disconnect: bool) -> None:
    survived = []
    # Every prefix that stops before the close delimiter `--boundary--` is complete, the empty one
    # included (the CRLF after it is optional, RFC 2046 §5.1.1).
    for cut in range(len(BODY) - len(b"\r\n")):
        try:
            await read_upload(request_of([BODY[:cut]], disconnect=disconnect))
        except MalformedRequestError:
            continue
        survived.append(cut)

    assert survived == []
