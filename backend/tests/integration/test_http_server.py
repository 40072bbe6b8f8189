"""The HTTP server `strata serve` starts, on a real loopback socket: request heads are bounded.

Each test starts uvicorn with the options `strata serve` hands it (captured from the command),
then talks raw HTTP/1.1 over a socket, as a client that ignores every convention would.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from typer.testing import CliRunner

from app.core.config import Settings
from app.presentation import cli
from app.presentation.api.v1.routers import health

KIB = 1024
MIB = 1024 * KIB


def serve_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, Any]:
    """The keyword arguments `strata serve` passes to `uvicorn.run`, under the given settings."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    captured: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: captured.update(kwargs))
    result = CliRunner().invoke(cli.cli, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    return captured


class Server:
    def __init__(self, options: dict[str, Any]) -> None:
        app = FastAPI()
        app.include_router(health.router)  # /health/live needs no database
        http = options.get("http", "auto")  # what `strata serve` picks; uvicorn's own default
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(app, http=http, lifespan="off", log_level="error")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def __enter__(self) -> Server:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()

    def connect(self) -> Connection:
        return Connection(self.port)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Server]:
    with Server(serve_options(monkeypatch, tmp_path)) as running:
        yield running


def request(
    path: str = "/health/live",
    headers: list[tuple[str, str]] | None = None,
    *,
    keep_alive: bool = False,
) -> bytes:
    fields = [*(headers or []), *([] if keep_alive else [("Connection", "close")])]
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{n}: {v}" for n, v in fields)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Connection:
    """A raw client connection; responses are read from one buffered stream, so pipelined
    responses that arrive together are each read whole."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self._stream = self.sock.makefile("rb")

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._stream.close()
        self.sock.close()

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """The next response: its status, headers (lower-case names) and body."""
        status_line = self._stream.readline()
        assert status_line, "the server closed without a response"
        fields: dict[str, str] = {}
        while (line := self._stream.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            fields[name.lower()] = value.strip()
        body = self._stream.read(int(fields.get("content-length", "0")))
        return int(status_line.split(b" ")[1]), fields, body


def exchange(server: Server, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    with server.connect() as connection:
        connection.send(raw)
        return connection.response()


def assert_header_refusal(response: tuple[int, dict[str, str], bytes]) -> None:
    status, fields, body = response
    assert status == 431
    assert fields["content-type"] == "application/problem+json"
    assert fields["connection"] == "close"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (431, "request_headers_too_large")


def assert_alive(server: Server) -> None:
    status, _, body = exchange(server, request())
    assert (status, json.loads(body)) == (200, {"status": "ok"})


# ------------------------------------------------------------------ refused


def test_a_single_header_of_20_kib_is_431(server: Server) -> None:
    assert_header_refusal(exchange(server, request(headers=[("X-Big", "a" * 20 * KIB)])))
    assert_alive(server)


def test_65_headers_of_1_kib_are_431(server: Server) -> None:
    many = [(f"X-H{i}", "b" * KIB) for i in range(65)]

    assert_header_refusal(exchange(server, request(headers=many)))
    assert_alive(server)


def test_200_small_headers_are_431(server: Server) -> None:
    many = [(f"X-H{i}", "1") for i in range(200)]

    assert_header_refusal(exchange(server, request(headers=many)))
    assert_alive(server)


def test_a_long_folded_run_of_header_bytes_without_an_end_is_431(server: Server) -> None:
    # One header arriving a kilobyte at a time, never finished: refused on its size, not its end.
    with server.connect() as connection:
        connection.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        for _ in range(80):
            try:
                connection.send(b"s" * KIB)
            except (BrokenPipeError, ConnectionResetError):
                break
        assert_header_refusal(connection.response())
    assert_alive(server)


def test_a_64_mib_header_is_refused_early_and_the_server_keeps_answering(server: Server) -> None:
    sent = 0
    responses: list[tuple[int, dict[str, str], bytes]] = []
    with server.connect() as connection:
        # Read while writing, as an HTTP client does: the answer comes long before the header ends.
        reader = threading.Thread(target=lambda: responses.append(connection.response()))
        connection.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Huge: ")
        reader.start()
        chunk = b"h" * (256 * KIB)
        try:
            while sent < 64 * MIB:
                connection.send(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
        reader.join(timeout=10)
        started = time.monotonic()
        assert_alive(server)  # answered while the big connection is still open, promptly
        assert time.monotonic() - started < 2

    assert responses, "no answer to the huge header"
    assert_header_refusal(responses[0])
    # The server stopped reading after the limit: only socket buffers took the rest.
    assert sent < 32 * MIB


def test_an_overlong_request_line_is_414(server: Server) -> None:
    status, fields, body = exchange(server, request(path="/health/live?q=" + "u" * 20 * KIB))

    assert (status, json.loads(body)["code"]) == (414, "request_uri_too_long")
    assert fields["connection"] == "close"
    assert_alive(server)


# ------------------------------------------------------------------ accepted


def test_heads_within_the_limits_are_served(server: Server) -> None:
    single = [("X-Near-Limit", "n" * 15 * KIB)]
    many = [(f"X-H{i}", "1") for i in range(90)]
    large = [(f"X-H{i}", "c" * 600) for i in range(90)]  # 90 lines of ~610 B: 54 KiB in all

    for headers in (single, many, large):
        status, _, _ = exchange(server, request(headers=headers))
        assert status == 200


def test_the_limits_count_each_request_of_a_connection_on_its_own(server: Server) -> None:
    # Three requests of 40 KiB of headers each, on one connection and then pipelined in one write.
    headers = [(f"X-H{i}", "k" * KIB) for i in range(40)]
    with server.connect() as connection:
        for _ in range(3):
            connection.send(request(headers=headers, keep_alive=True))
            assert connection.response()[0] == 200
        connection.send(request(headers=headers, keep_alive=True) * 3)
        assert [connection.response()[0] for _ in range(3)] == [200, 200, 200]


def test_a_large_body_is_not_counted_as_a_head(server: Server) -> None:
    # Bodies have their own limit (MAX_BODY_BYTES, in the app); the read that ends one is no head.
    body = b"b" * (600 * KIB)
    head = f"POST /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    with server.connect() as connection:
        for _ in range(3):
            connection.send(head.encode() + body)
            assert connection.response()[0] == 405  # answered by the app, not refused
        connection.send(request(keep_alive=True))
        assert connection.response()[0] == 200


def test_a_request_whose_head_and_body_come_in_one_read_is_not_counted_as_a_head(
    server: Server,
) -> None:
    # An upload of 100 KiB arrives whole in one read on loopback (curl -F of a short recording):
    # once its message is complete, nothing of a head is pending.
    body = b"b" * (100 * KIB)
    head = f"POST /health/live HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
    with server.connect() as connection:
        for _ in range(5):
            connection.send(head.encode() + body)
            assert connection.response()[0] == 405  # answered by the app, not refused
        connection.send(request(keep_alive=True))
        assert connection.response()[0] == 200


# ------------------------------------------------------------------ configured


def test_the_limits_are_the_settings_of_strata_serve(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    options = serve_options(
        monkeypatch,
        tmp_path,
        MAX_HEADER_LINE_BYTES="2048",
        MAX_HEADER_BYTES="8192",
        MAX_HEADER_COUNT="20",
    )

    with Server(options) as configured:
        assert_header_refusal(exchange(configured, request(headers=[("X-A", "a" * 3 * KIB)])))
        many = [(f"X-H{i}", "1") for i in range(21)]
        assert_header_refusal(exchange(configured, request(headers=many)))
        total = [(f"X-H{i}", "d" * 1500) for i in range(6)]  # each line fits, 9 KB in all
        assert_header_refusal(exchange(configured, request(headers=total)))
        assert exchange(configured, request(headers=[("X-A", "a" * 1900)]))[0] == 200
