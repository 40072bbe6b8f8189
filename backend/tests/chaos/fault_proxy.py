"""A TCP proxy on 127.0.0.1 that puts network faults between the app and one of its dependencies.

The app is pointed at the proxy (DATABASE_URL, REDIS_URL) and the proxy at the real server. At run
time a test switches it between:

- `PASS`: bytes flow unchanged;
- `REFUSE`: the listening socket is closed, so a new connection is refused (ECONNREFUSED), as from
  a host whose server is down; established connections are left alone (`reset_connections()`
  breaks them too);
- `BLACKHOLE`: new connections are accepted and nothing is forwarded either way, on new and
  established connections alike (a partition); leaving it resets the connections that lost bytes,
  since their streams can never be whole again;
- `RESET`: each connection is reset (RST, not FIN) once `reset_after_bytes` have crossed it, that is
  mid-stream, after the handshake worked;
- `LATENCY`: every chunk is delivered `latency_s` after it arrived (order kept);
- `BANDWIDTH`: each direction of each connection carries at most `bytes_per_second`.

The proxy runs its own event loop in a thread of its own, so faults keep being applied while the
test's loop is busy, and its methods may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

HOST = "127.0.0.1"
CHUNK_BYTES = 64 * 1024
CALL_TIMEOUT_S = 10.0


class Fault(StrEnum):
    PASS = "pass"
    REFUSE = "refuse"
    BLACKHOLE = "blackhole"
    RESET = "reset"
    LATENCY = "latency"
    BANDWIDTH = "bandwidth"


@dataclass(frozen=True, slots=True)
class FaultSettings:
    fault: Fault = Fault.PASS
    latency_s: float = 0.0
    bytes_per_second: int = 0
    reset_after_bytes: int = 0


@dataclass(eq=False, slots=True)
class _Link:
    """One proxied connection: the client's side and the upstream side."""

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    forwarded_bytes: int = 0
    lost_bytes: bool = False  # a blackhole swallowed some: the stream is broken for good
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def reset(self) -> None:
        for writer in (self.client, self.upstream):
            _abort_with_rst(writer)
        for task in self.tasks:
            task.cancel()


def _abort_with_rst(writer: asyncio.StreamWriter) -> None:
    # Linger 0: close() sends RST, as a crashed peer or a middlebox would, not an orderly FIN.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """`with FaultProxy(upstream_port) as proxy:` then point the app at `proxy.port`."""

    def __init__(self, upstream_port: int, *, upstream_host: str = HOST, name: str = "") -> None:
        self.name = name or f"proxy-to-{upstream_port}"
        self._upstream = (upstream_host, upstream_port)
        self._settings = FaultSettings()
        self._links: set[_Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self.port = 0

    # ------------------------------------------------------------------ life cycle
    def start(self) -> FaultProxy:
        started = threading.Event()
        self._thread = threading.Thread(
            target=self._serve_forever, args=(started,), name=self.name, daemon=True
        )
        self._thread.start()
        if not started.wait(CALL_TIMEOUT_S) or self._loop is None:
            raise RuntimeError(f"{self.name} did not start")
        self._call(self._listen())
        return self

    def stop(self) -> None:
        """Close the listener and reset every connection; safe to call twice."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shut_down(), loop).result(CALL_TIMEOUT_S)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(CALL_TIMEOUT_S)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ switching faults
    def set(self, fault: Fault, **options: float) -> None:
        """Apply `fault` from now on (options: latency_s, bytes_per_second, reset_after_bytes)."""
        settings = FaultSettings(
            fault=fault,
            latency_s=float(options.get("latency_s", 0.0)),
            bytes_per_second=int(options.get("bytes_per_second", 0)),
            reset_after_bytes=int(options.get("reset_after_bytes", 0)),
        )
        self._call(self._apply(settings))

    def clear(self) -> None:
        self.set(Fault.PASS)

    def reset_connections(self) -> int:
        """Reset every established connection now; how many there were."""
        return int(self._call(self._reset_all()))

    @property
    def connection_count(self) -> int:
        return len(self._links)

    # ------------------------------------------------------------------ inside the proxy's loop
    def _serve_forever(self, started: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        started.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    def _call(self, coroutine: object) -> object:
        if self._loop is None:
            raise RuntimeError(f"{self.name} is not running")
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]
        return future.result(CALL_TIMEOUT_S)

    async def _listen(self) -> None:
        # Same port every time: the app's URL names it, and REFUSE closes and reopens it.
        self._server = await asyncio.start_server(
            self._accept, HOST, self.port, reuse_address=True, limit=CHUNK_BYTES
        )
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # Not wait_closed(): on 3.12+ it also waits for the accepted connections to end.

    async def _apply(self, settings: FaultSettings) -> None:
        previous, self._settings = self._settings, settings
        if settings.fault is Fault.REFUSE:
            await self._close_listener()
        elif self._server is None:
            await self._listen()
        if previous.fault is Fault.BLACKHOLE and settings.fault is not Fault.BLACKHOLE:
            for link in [link for link in self._links if link.lost_bytes]:
                self._drop(link)

    async def _reset_all(self) -> int:
        links = list(self._links)
        for link in links:
            self._drop(link)
        return len(links)

    async def _shut_down(self) -> None:
        await self._close_listener()
        await self._reset_all()

    def _drop(self, link: _Link) -> None:
        self._links.discard(link)
        link.reset()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(
                *self._upstream, limit=CHUNK_BYTES
            )
        except OSError:
            _abort_with_rst(writer)  # the server behind is down: the client sees a reset
            return
        link = _Link(client=writer, upstream=upstream_writer)
        self._links.add(link)
        link.tasks = [
            asyncio.create_task(self._pump(link, reader, upstream_writer)),
            asyncio.create_task(self._pump(link, upstream_reader, writer)),
        ]
        await asyncio.gather(*link.tasks, return_exceptions=True)
        if link in self._links:
            self._links.discard(link)
            for side in (writer, upstream_writer):
                side.close()

    async def _pump(
        self, link: _Link, source: asyncio.StreamReader, target: asyncio.StreamWriter
    ) -> None:
        """Copy one direction, applying the fault in force when each chunk arrives; the delivery
        queue keeps order while LATENCY holds chunks back."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        delivery = asyncio.create_task(self._deliver(link, queue, target))
        try:
            while data := await source.read(CHUNK_BYTES):
                settings = self._settings
                if settings.fault is Fault.BLACKHOLE:
                    link.lost_bytes = True
                    continue
                due = time.monotonic() + (
                    settings.latency_s if settings.fault is Fault.LATENCY else 0.0
                )
                queue.put_nowait((due, data))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await delivery
            if link in self._links:  # this side ended: end the other side too (half-close)
                with contextlib.suppress(OSError, RuntimeError):
                    if target.can_write_eof():
                        target.write_eof()

    async def _deliver(
        self,
        link: _Link,
        queue: asyncio.Queue[tuple[float, bytes] | None],
        target: asyncio.StreamWriter,
    ) -> None:
        while (item := await queue.get()) is not None:
            due, data = item
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            for start in range(0, len(data), self._slice_bytes()):
                piece = data[start : start + self._slice_bytes()]
                settings = self._settings
                if settings.fault is Fault.BLACKHOLE:
                    link.lost_bytes = True
                    continue
                if settings.fault is Fault.BANDWIDTH and settings.bytes_per_second > 0:
                    await asyncio.sleep(len(piece) / settings.bytes_per_second)
                target.write(piece)
                await target.drain()
                link.forwarded_bytes += len(piece)
                if (
                    settings.fault is Fault.RESET
                    and link.forwarded_bytes >= settings.reset_after_bytes
                ):
                    self._drop(link)
                    return

    def _slice_bytes(self) -> int:
        settings = self._settings
        if settings.fault is Fault.BANDWIDTH and settings.bytes_per_second > 0:
            # About ten writes a second, so the rate holds over short windows too.
            return max(1, settings.bytes_per_second // 10)
        return CHUNK_BYTES
