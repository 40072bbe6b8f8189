"""The HTTP/1.1 protocol `strata serve` gives uvicorn: httptools, with the request head bounded.

httptools (llhttp) has no limit of its own: it gathers a header of any size in memory before it
hands it over, and a few 64 MB headers take hundreds of megabytes and stall the event loop. This
protocol counts the request line and the headers as they arrive and answers 431 (414 for the
request line) once one header line, their total or their number passes its limit, then closes
the connection. A header still arriving is counted by the bytes received while the head is
incomplete, so no more than the limit is held (plus one socket read, at most 256 KiB, in the one
case where the head's start is not known: a request pipelined behind another in the same read).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.core.config import Settings

logger = logging.getLogger("strata.http")
HEADER_SEPARATOR_BYTES = 4  # ": " between name and value, CRLF after the value


@dataclass(frozen=True, slots=True)
class HeaderLimits:
    """Bytes of one header line (and of the request line), of the whole head, and header count."""

    max_line_bytes: int = 16 * 1024
    max_total_bytes: int = 64 * 1024
    max_count: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> HeaderLimits:
        return cls(
            max_line_bytes=settings.max_header_line_bytes,
            max_total_bytes=settings.max_header_bytes,
            max_count=settings.max_header_count,
        )


class _HeadRefusedError(Exception):
    """Raised inside a parser callback to stop httptools; the status is kept on the protocol."""


class HeaderLimitedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HeaderLimits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits or HeaderLimits()
        self._in_head = True  # reading a request line and headers, or waiting for a request
        self._begun = 0  # requests begun during the current `data_received`
        self._seen_bytes = 0  # request line and complete headers, as the parser handed them over
        self._received_bytes = 0  # bytes received for the head, counting a header still arriving
        self._header_count = 0
        # The last request parsed is complete and the next has not begun: nothing of a head is
        # pending, whatever the size of the read that carried it (a small upload comes in one).
        self._between_requests = True
        self._refusal: HTTPStatus | None = None

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # refused and closing: nothing more is parsed
        head_at_start, self._begun = self._in_head, 0
        super().data_received(data)  # a callback's refusal comes back through send_400_response
        if self._refusal is not None or not self._in_head:
            return
        if self._between_requests:
            self._received_bytes = 0
            return
        # Still in a head: count this read as part of it, unless another request came before it.
        if self._begun == 0:
            if not head_at_start:
                return  # this read ended a body; no head has begun yet
            self._received_bytes += len(data)
        elif self._begun == 1 and head_at_start:
            self._received_bytes = len(data)
        else:  # pipelined behind another request: what the parser handed over, plus one read
            self._received_bytes = self._seen_bytes
        if self._received_bytes > self.limits.max_total_bytes:
            self._refuse(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)

    # --- parser callbacks
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._between_requests = False
        self._begun += 1
        self._seen_bytes = self._received_bytes = self._header_count = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._seen_bytes += len(url)
        if len(self.url) > self.limits.max_line_bytes:
            self._stop(HTTPStatus.REQUEST_URI_TOO_LONG)

    def on_header(self, name: bytes, value: bytes) -> None:
        line = len(name) + len(value) + HEADER_SEPARATOR_BYTES
        self._seen_bytes += line
        self._header_count += 1
        if (
            line > self.limits.max_line_bytes
            or self._seen_bytes > self.limits.max_total_bytes
            or self._header_count > self.limits.max_count
        ):
            self._stop(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._between_requests = True

    # --- refusing
    def send_400_response(self, msg: str) -> None:
        if self._refusal is not None:
            self._send_refusal(self._refusal)
        else:
            super().send_400_response(msg)

    def _stop(self, status: HTTPStatus) -> None:
        self._refusal = status
        raise _HeadRefusedError()  # httptools turns it into a parser error: see send_400_response

    def _refuse(self, status: HTTPStatus) -> None:
        self._refusal = status
        self._send_refusal(status)

    def _send_refusal(self, status: HTTPStatus) -> None:
        code = (
            "request_uri_too_long"
            if status is HTTPStatus.REQUEST_URI_TOO_LONG
            else "request_headers_too_large"
        )
        logger.warning("request head refused", extra={"status": status.value, "code": code})
        body = json.dumps(
            {
                "type": f"urn:strata:problem:{code}",
                "title": status.phrase,
                "status": status.value,
                "detail": _DETAIL[status].format(limits=self.limits),
                "code": code,
            }
        ).encode()
        head = [f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode()]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()


_DETAIL = {
    HTTPStatus.REQUEST_URI_TOO_LONG: (
        "The request line is longer than the {limits.max_line_bytes} bytes allowed."
    ),
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE: (
        "The request headers pass a limit: {limits.max_line_bytes} bytes a line, "
        "{limits.max_total_bytes} bytes in all, {limits.max_count} headers."
    ),
}


def http_protocol(limits: HeaderLimits) -> type[asyncio.Protocol]:
    """uvicorn's `http=` option: the protocol class, bound to these limits (and picklable, for
    `--workers`, which hands the configuration to each worker process)."""
    return cast(
        "type[asyncio.Protocol]", functools.partial(HeaderLimitedHttpToolsProtocol, limits=limits)
    )
