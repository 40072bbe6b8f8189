"""A multipart/form-data body read as a stream: the one `file` part's bytes, as they arrive.

Starlette's `request.form()` would read the whole body (spooling it to disk) before the endpoint
runs. Here python-multipart's push parser is fed from `request.stream()`, and the file part's bytes
are handed on chunk by chunk, so the size limit and the type check act on the first bytes and the
upload is never held whole.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

from app.domain.errors import MalformedRequestError, MissingFileError, UnsupportedMediaTypeError

FILE_FIELD = "file"


@dataclass
class _PartState:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    header_field: bytearray = field(default_factory=bytearray)
    header_value: bytearray = field(default_factory=bytearray)
    in_file: bool = False
    seen_file: bool = False
    filename: str | None = None
    ready: list[bytes] = field(default_factory=list)


@dataclass
class FileUpload:
    filename: str | None
    chunks: AsyncIterator[bytes]


async def stream_file_part(request: Request) -> FileUpload:
    """The `file` part of the request; the filename is known once its headers have been read."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaTypeError()
    if not boundary:
        raise MalformedRequestError()
    state = _PartState()
    parser = MultipartParser(boundary, _callbacks(state))
    body = request.stream()

    # Read until the file part's headers are known (its filename), keeping what data came with.
    async for chunk in body:
        _feed(parser, chunk)
        if state.seen_file:
            break
    if not state.seen_file:
        raise MissingFileError(field=FILE_FIELD, reason="is required (multipart field `file`)")

    async def chunks() -> AsyncIterator[bytes]:
        while state.ready:
            yield state.ready.pop(0)
        async for chunk in body:
            _feed(parser, chunk)
            while state.ready:
                yield state.ready.pop(0)
        parser.finalize()

    return FileUpload(filename=state.filename, chunks=chunks())


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except MultipartParseError as exc:
        raise MalformedRequestError() from exc


def _callbacks(state: _PartState) -> MultipartCallbacks:
    def on_part_begin() -> None:
        state.headers = {}

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state.header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state.header_value.extend(data[start:end])

    def on_header_end() -> None:
        state.headers[bytes(state.header_field).lower()] = bytes(state.header_value)
        state.header_field.clear()
        state.header_value.clear()

    def on_headers_finished() -> None:
        _, options = parse_options_header(state.headers.get(b"content-disposition", b""))
        is_file = options.get(b"name") == FILE_FIELD.encode() and not state.seen_file
        state.in_file = is_file
        if is_file:
            state.seen_file = True
            raw = options.get(b"filename")
            state.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state.in_file and end > start:
            state.ready.append(bytes(data[start:end]))

    def on_part_end() -> None:
        state.in_file = False

    return cast(
        "MultipartCallbacks",
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
