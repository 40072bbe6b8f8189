"""HeaderLimitedHttpToolsProtocol, fed reads of exactly chosen sizes (a socket decides them
itself; tests/integration/test_http_server.py drives a real one)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from app.presentation.http_server import HeaderLimitedHttpToolsProtocol, HeaderLimits

KIB = 1024
LIMITS = HeaderLimits(max_line_bytes=16 * KIB, max_total_bytes=64 * KIB, max_count=100)


class RecordingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8006), "peername": ("127.0.0.1", 40_000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written.extend(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def statuses(self) -> list[int]:
        return [
            int(line.split(b" ")[1]) for line in self.written.split(b"\r\n") if line[:5] == b"HTTP/"
        ]


async def ok_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def connect() -> tuple[HeaderLimitedHttpToolsProtocol, RecordingTransport]:
    config = Config(app=ok_app, lifespan="off", log_level="critical")
    protocol = HeaderLimitedHttpToolsProtocol(config, ServerState(), {}, limits=LIMITS)
    transport = RecordingTransport()
    protocol.connection_made(transport)
    return protocol, transport


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def head(*lines: str, method: str = "GET", extra: str = "") -> bytes:
    return (
        f"{method} / HTTP/1.1\r\nHost: x\r\n" + "".join(f"{x}\r\n" for x in lines) + extra
    ).encode()


async def test_the_read_that_ends_a_large_body_is_not_counted_as_a_head() -> None:
    protocol, transport = connect()
    body = b"b" * (300 * KIB)

    protocol.data_received(head(f"Content-Length: {len(body)}", extra="\r\n") + body[: 10 * KIB])
    protocol.data_received(body[10 * KIB :])  # 290 KiB ending the body, in one read
    await settle()
    protocol.data_received(head(extra="\r\n"))
    await settle()

    assert transport.statuses() == [200, 200]
    assert not transport.closed


@pytest.mark.parametrize("read", [1, 700, 16 * KIB, 100 * KIB])
async def test_an_unfinished_header_is_refused_once_the_head_passes_the_limit(read: int) -> None:
    protocol, transport = connect()
    protocol.data_received(head(extra="X-Endless: "))
    sent = len(head(extra="X-Endless: "))

    while not transport.closed:
        assert sent <= LIMITS.max_total_bytes + read, "read on past the limit"
        protocol.data_received(b"e" * read)
        sent += read

    assert transport.statuses() == [431]
    assert sent > LIMITS.max_total_bytes


async def test_a_head_that_comes_in_one_read_with_the_request_is_counted_whole() -> None:
    protocol, transport = connect()

    protocol.data_received(head(extra="X-Endless: " + "e" * 70 * KIB))

    assert transport.statuses() == [431]


async def test_a_refused_connection_reads_nothing_more() -> None:
    protocol, transport = connect()
    protocol.data_received(head("X-Big: " + "a" * 17 * KIB, extra="\r\n"))
    written = bytes(transport.written)

    protocol.data_received(head(extra="\r\n"))
    await settle()

    assert transport.statuses() == [431]
    assert bytes(transport.written) == written


async def test_keep_alive_requests_each_get_the_whole_budget() -> None:
    protocol, transport = connect()
    near_limit = [f"X-H{i}: {'k' * KIB}" for i in range(60)]  # ~61 KiB each time

    for _ in range(3):
        protocol.data_received(head(*near_limit, extra="\r\n"))
        await settle()

    assert transport.statuses() == [200, 200, 200]
