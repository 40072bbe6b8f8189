"""The servers under load: Strata (`strata serve`, configured as a deployment would run it) and the
bare FastAPI ceiling, each started on a free port, awaited until ready and always stopped."""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.config import Settings
from bench.config import (
    BACKEND_DIR,
    HOST,
    READY_TIMEOUT_S,
    ROOT,
    STOP_TIMEOUT_S,
    VENV_BIN,
    BenchError,
)


@dataclass(frozen=True, slots=True)
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def running_server(
    command: Sequence[str],
    env: Mapping[str, str],
    port: int,
    ready_path: str,
    log_path: Path,
    *,
    ready_status: int = 200,
) -> Iterator[Server]:
    """Start a server, wait until `ready_path` answers `ready_status`, and always stop it
    afterwards."""
    with log_path.open("ab") as log_file:
        # Own session: a Ctrl-C reaches only us, and we stop the server in order (below).
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            cwd=log_path.parent,  # away from the repository, so no developer .env is read
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    try:
        _wait_ready(server, ready_path, ready_status)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Server, path: str, ready_status: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"server exited with {server.process.returncode}:\n{_tail(server.log_path)}"
            )
        with contextlib.suppress(OSError):
            if http_get(server.port, path)[0] == ready_status:
                return
        time.sleep(0.2)
    raise BenchError(f"server not ready after {READY_TIMEOUT_S:.0f} s:\n{_tail(server.log_path)}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def http_get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass(frozen=True, slots=True)
class App:
    """How Strata is run against one database: the environment every `strata` command gets."""

    env: Mapping[str, str]
    workdir: Path
    admin_email: str
    admin_password: str
    stripe_webhook_secret: str  # signs the webhook events the payment rows send

    def strata(self, *args: str) -> str:
        """Run a `strata` command to completion; its output, or BenchError with the output."""
        command = [str(_strata_executable()), *args]
        done = subprocess.run(
            command,
            env=dict(self.env),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchError(f"strata {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def serve(
        self, log_name: str, *, catalog_cache_ttl_s: int
    ) -> contextlib.AbstractContextManager[Server]:
        """`strata serve` with one worker; the cache setting is always explicit, never left to the
        application's default, so that the report can say which one each table ran with."""
        port = free_port()
        env = {
            **self.env,
            "PORT": str(port),
            "PRODUCT_CACHE_TTL_SECONDS": str(catalog_cache_ttl_s),
        }
        command = [str(_strata_executable()), "serve", "--workers", "1"]
        return running_server(command, env, port, "/health/ready", self.workdir / log_name)


def _strata_executable() -> Path:
    executable = VENV_BIN / "strata"
    if not executable.exists():
        raise BenchError(f"{executable} is missing: run `make install`")
    return executable


RATE_LIMIT_SETTINGS = (
    "RATE_LIMIT_LOGIN_ACCOUNT",
    "RATE_LIMIT_LOGIN_IP",
    "RATE_LIMIT_REGISTER_IP",
    "RATE_LIMIT_FORGOT_IP",
    "RATE_LIMIT_MFA",
    "RATE_LIMIT_API",
)
UNREACHABLE_LIMIT = "100000000/minute"


def app_env(database_url: str, workdir: Path, stripe: StripeFake) -> App:
    """Production settings, as a deployment would have them, on `database_url`, with payments
    going to the local Stripe stand-in."""
    env = dict(os.environ)
    # Nothing from the caller's shell may change what is measured (a REDIS_URL, a DEBUG log level).
    for name in Settings.model_fields:
        env.pop(name.upper(), None)
    email = "bench-admin@example.com"
    password = secrets.token_urlsafe(18)
    env.update(
        {
            "ENVIRONMENT": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "FILE_ENCRYPTION_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            # Rate limiting stays on, so its cost is in every number, with limits no bench run
            # reaches: a limit that answered 429 would measure the refusal, not the endpoint.
            **dict.fromkeys(RATE_LIMIT_SETTINGS, UNREACHABLE_LIMIT),
            # The refresh run keeps two sessions per connection alive for one user.
            "MAX_SESSIONS_PER_USER": "1000",
            "DATABASE_URL": database_url,
            "HOST": HOST,
            "FIRST_ADMIN_EMAIL": email,
            "FIRST_ADMIN_PASSWORD": password,
            "SEED_DEMO": "false",
            "LOG_LEVEL": "WARNING",
            "VAR_DIR": str(workdir / "var"),
            **stripe.env,
        }
    )
    return App(env, workdir, email, password, stripe.webhook_secret)


@contextlib.contextmanager
def baseline_server(workdir: Path) -> Iterator[Server]:
    # The same settings `strata serve` gives uvicorn: one worker, no access log, no proxy headers,
    # and uvicorn's default ("auto") loop and HTTP parser, that is uvloop and httptools.
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.baseline_app:app",
        "--app-dir",
        str(ROOT),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]
    with running_server(command, os.environ, port, "/ping", workdir / "baseline.log") as server:
        yield server


@dataclass(frozen=True, slots=True)
class StripeFake:
    """The local Stripe stand-in (backend/tests/stripe_fake.py) every Strata server talks to."""

    server: Server
    api_key: str
    webhook_secret: str

    @property
    def env(self) -> dict[str, str]:
        """Strata's settings for it: payments on, every call to Stripe staying on this machine."""
        return {
            "STRIPE_SECRET_KEY": self.api_key,
            "STRIPE_API_BASE": self.server.base_url,
            "STRIPE_WEBHOOK_SECRET": self.webhook_secret,
        }


@contextlib.contextmanager
def stripe_fake(workdir: Path) -> Iterator[StripeFake]:
    """`python -m tests.stripe_fake` on a free port, always stopped afterwards (even on Ctrl-C)."""
    port = free_port()
    api_key = f"sk_test_bench_{secrets.token_hex(12)}"
    command = [
        sys.executable,
        "-m",
        "tests.stripe_fake",
        "--port",
        str(port),
        "--api-key",
        api_key,
    ]
    env = {**os.environ, "PYTHONPATH": str(BACKEND_DIR)}
    # It answers 401 to a request without the API key: up, and checking it.
    log_path = workdir / "stripe-fake.log"
    with running_server(
        command, env, port, "/v1/payment_intents/pi_ready", log_path, ready_status=401
    ) as server:
        yield StripeFake(server, api_key, f"whsec_{secrets.token_hex(24)}")
