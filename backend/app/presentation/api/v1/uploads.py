"""A multipart/form-data body read as a stream: the one `file` part's bytes, as they arrive.

Starlette's `request.form()` would read the whole body (spooling it to disk) before the endpoint
runs. Here python-multipart's push parser is fed from `request.stream()`, and the file part's bytes
are handed on chunk by chunk, so the size limit and the type check act on the first bytes and the
upload is never held whole.

The body must be well-formed multipart/form-data (RFC 7578, RFC 2046) from its first byte to its
closing boundary, or the request is a 400 and nothing is stored: a boundary of 1 to 70 allowed
characters, every part named by a `Content-Disposition: form-data`, exactly one `file` part, and
the closing delimiter. A body that stops early (a client that went away, a proxy that cut it) fails
while the file's bytes are still being read, so the storage discards what it had written.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from app.application.errors import MalformedRequestError, UnsupportedMediaTypeError
from app.domain.entities.resource import MissingFileError

FILE_FIELD = "file"
# RFC 2046 §5.1.1: 1 to 70 of these characters, the last not a space.
_BOUNDARY = re.compile(rb"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@dataclass
class _PartState:
    """What the parser has read of the body so far; its `on_*` methods are the parser's callbacks."""

    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    in_file: bool = False
    seen_file: bool = False
    ended: bool = False  # the closing delimiter was read
    filename: str | None = None
    ready: list[bytes] = field(default_factory=list)

    def on_part_begin(self) -> None:
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field.extend(data[start:end])

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value.extend(data[start:end])

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        # RFC 7578 §4.2: every part has a `Content-Disposition: form-data` with a name.
        disposition = self.headers.get(b"content-disposition")
        if disposition is None:
            raise MalformedRequestError()
        kind, options = parse_options_header(disposition)
        name = options.get(b"name")
        if kind != b"form-data" or not name:
            raise MalformedRequestError()
        is_file = name == FILE_FIELD.encode()
        if is_file and self.seen_file:
            raise MalformedRequestError()  # which of two files would be the upload?
        self.in_file = is_file
        if is_file:
            self.seen_file = True
            raw = options.get(b"filename")
            self.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file and end > start:
            self.ready.append(bytes(data[start:end]))

    def on_part_end(self) -> None:
        self.in_file = False

    def on_end(self) -> None:
        self.ended = True


@dataclass
class FileUpload:
    filename: str | None
    chunks: AsyncIterator[bytes]


async def stream_file_part(request: Request) -> FileUpload:
    """The `file` part of the request; the filename is known once its headers have been read.

    The returned chunks raise `MalformedRequestError` if the body turns out malformed or cut short
    after the file part began, so whoever consumes them must not keep what it got before."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError()
    state = _PartState()
    parser = _parser(options.get(b"boundary"), state)
    body = _body(request)

    # Read until the file part's headers are known (its filename), keeping what data came with.
    async for chunk in body:
        _feed(parser, chunk)
        if state.seen_file:
            break
    if not state.seen_file:
        _require_end(state)  # a body cut short is malformed, whatever it held
        raise MissingFileError(field=FILE_FIELD, reason="is required (multipart field `file`)")

    async def chunks() -> AsyncIterator[bytes]:
        while state.ready:
            yield state.ready.pop(0)
        async for chunk in body:
            _feed(parser, chunk)
            while state.ready:
                yield state.ready.pop(0)
        _require_end(state)

    return FileUpload(filename=state.filename, chunks=chunks())


def _parser(boundary: bytes | None, state: _PartState) -> MultipartParser:
    if boundary is None or _BOUNDARY.fullmatch(boundary) is None:
        raise MalformedRequestError()
    try:
        return MultipartParser(boundary, _callbacks(state))
    except FormParserError as exc:  # the parser's own limits; the check above is stricter
        raise MalformedRequestError() from exc


async def _body(request: Request) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.stream():
            yield chunk
    except ClientDisconnect as exc:  # the client went away mid-body: the upload did not end
        raise MalformedRequestError() from exc


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except FormParserError as exc:
        raise MalformedRequestError() from exc


def _require_end(state: _PartState) -> None:
    if not state.ended:
        raise MalformedRequestError()


def _callbacks(state: _PartState) -> MultipartCallbacks:
    return cast(
        "MultipartCallbacks",
        {
            "on_part_begin": state.on_part_begin,
            "on_header_field": state.on_header_field,
            "on_header_value": state.on_header_value,
            "on_header_end": state.on_header_end,
            "on_headers_finished": state.on_headers_finished,
            "on_part_data": state.on_part_data,
            "on_part_end": state.on_part_end,
            "on_end": state.on_end,
        },
    )
