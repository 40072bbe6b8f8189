"""The fault proxy itself, against a local echo server: each fault does what the chaos cases rely
on (a proxy that silently passed everything would make every chaos case pass)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.chaos.fault_proxy import Fault, FaultProxy

HOST = "127.0.0.1"
IO_TIMEOUT_S = 5.0


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest_asyncio.fixture
async def echo_port() -> AsyncIterator[int]:
    server = await asyncio.start_server(_echo, HOST, 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()


@pytest.fixture
def proxy(echo_port: int) -> Iterator[FaultProxy]:
    with FaultProxy(echo_port, name="echo-proxy") as started:
        yield started


async def _connect(
    proxy: FaultProxy,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(HOST, proxy.port), IO_TIMEOUT_S)


async def _round_trip(proxy: FaultProxy, payload: bytes) -> bytes:
    reader, writer = await _connect(proxy)
    try:
        writer.write(payload)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(len(payload)), IO_TIMEOUT_S)
    finally:
        writer.close()


async def test_passes_bytes_unchanged(proxy: FaultProxy) -> None:
    assert await _round_trip(proxy, b"hello through the proxy") == b"hello through the proxy"


async def test_refuses_new_connections_then_accepts_again_on_the_same_port(
    proxy: FaultProxy,
) -> None:
    port = proxy.port
    proxy.set(Fault.REFUSE)
    with pytest.raises(ConnectionRefusedError):
        await _connect(proxy)
    proxy.clear()
    assert proxy.port == port
    assert await _round_trip(proxy, b"back") == b"back"


async def test_blackhole_forwards_nothing_and_breaks_the_streams_it_swallowed(
    proxy: FaultProxy,
) -> None:
    reader, writer = await _connect(proxy)
    proxy.set(Fault.BLACKHOLE)
    writer.write(b"into the void")
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(100), 0.5)
    proxy.clear()
    # Bytes were lost: the connection is reset rather than resumed as if whole.
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), IO_TIMEOUT_S)
    writer.close()


async def test_resets_a_connection_mid_stream(proxy: FaultProxy) -> None:
    proxy.set(Fault.RESET, reset_after_bytes=1000)
    reader, writer = await _connect(proxy)
    writer.write(b"x" * 5000)
    await writer.drain()
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(5000), IO_TIMEOUT_S)
    writer.close()


async def test_reset_connections_breaks_established_ones(proxy: FaultProxy) -> None:
    reader, writer = await _connect(proxy)
    writer.write(b"up")
    assert await asyncio.wait_for(reader.readexactly(2), IO_TIMEOUT_S) == b"up"
    assert proxy.reset_connections() == 1
    with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
        await asyncio.wait_for(reader.readexactly(1), IO_TIMEOUT_S)
    writer.close()


async def test_latency_delays_each_way(proxy: FaultProxy) -> None:
    proxy.set(Fault.LATENCY, latency_s=0.2)
    start = time.monotonic()
    assert await _round_trip(proxy, b"slow") == b"slow"
    assert time.monotonic() - start >= 0.4  # 0.2 s there, 0.2 s back


async def test_bandwidth_limits_throughput(proxy: FaultProxy) -> None:
    proxy.set(Fault.BANDWIDTH, bytes_per_second=20_000)
    start = time.monotonic()
    assert await _round_trip(proxy, b"b" * 10_000) == b"b" * 10_000
    # 10 kB at 20 kB/s takes half a second; the echo overlaps the two directions, so the round
    # trip takes a little more than one direction's half second (unthrottled: milliseconds).
    assert time.monotonic() - start >= 0.45
