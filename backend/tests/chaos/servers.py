"""The processes a chaos test owns, so that it can restart and kill them without touching anyone
else's: a private PostgreSQL cluster and a private Redis (each on a free port, in a temporary
directory), and the `strata serve` / `strata worker` processes under test.

The machine's shared PostgreSQL (5432) and Redis (6379) serve other test runs at the same time;
restarting them would break those runs, so no test here ever does.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

HOST = "127.0.0.1"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.05
BACKEND_DIR = Path(__file__).resolve().parents[2]
STRATA = BACKEND_DIR.parent / ".venv" / "bin" / "strata"

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


class ChaosSetupError(RuntimeError):
    """A server of the test did not start (not a fault under test: the test cannot run)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent(parent_pid: int) -> None:
    """In the child: SIGKILL when the test process dies, so a killed run leaves no server."""
    if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0 or os.getppid() != parent_pid:
        os._exit(1)


def _spawn(
    command: list[str], log_path: Path, *, env: Mapping[str, str], cwd: Path, **options: object
) -> subprocess.Popen[bytes]:
    """Start a child in its own session (its signals are ours to send). Call from the main thread:
    the death signal fires when the thread that forked ends."""
    parent_pid = os.getpid()
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 (programs of this machine, arguments of ours)
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
            preexec_fn=lambda: _die_with_parent(parent_pid),  # noqa: PLW1509
            **options,  # type: ignore[arg-type]
        )


def _end(process: subprocess.Popen[bytes] | None, first_signal: int) -> None:
    """Send `first_signal`, wait, then SIGKILL the whole session if it lingers."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(first_signal)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def stop_together(processes: list[StrataProcess]) -> None:
    """SIGTERM to all at once, then wait for each: their drains overlap instead of adding up."""
    for process in processes:
        if process.running and process.process is not None:
            with contextlib.suppress(ProcessLookupError):
                process.process.send_signal(signal.SIGTERM)
    for process in processes:
        process.stop()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _debian_postgres_bin() -> Path:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name)
    )
    if not candidates:
        raise ChaosSetupError("no PostgreSQL binaries under /usr/lib/postgresql/*/bin")
    return candidates[-1]


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (trusting `postgres`), restartable on its port.

    initdb and postgres refuse to run as root, so as root they run as `nobody`."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="strata-chaos-pg-"))
        self.port = free_port()
        self._bin = _debian_postgres_bin()
        self._process: subprocess.Popen[bytes] | None = None
        self._options: dict[str, object] = {}
        if os.geteuid() == 0:
            account = pwd.getpwnam("nobody")
            self._options = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self.socket_dir = self.directory / "socket"
        self.socket_dir.mkdir()
        if self._options:
            os.chown(self.socket_dir, int(self._options["user"]), int(self._options["group"]))  # type: ignore[call-overload]

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/postgres"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    def initialize(self) -> PrivatePostgres:
        done = subprocess.run(  # noqa: S603
            [
                str(self._bin / "initdb"),
                *("-D", str(self.directory / "data")),
                *("-U", "postgres", "--auth=trust", "--no-sync", "--no-instructions"),
                *("--encoding=UTF8", "--locale=C"),
            ],
            capture_output=True,
            cwd=self.directory,
            env=self._environment(),
            timeout=READY_TIMEOUT_S * 2,
            check=False,
            **self._options,  # type: ignore[arg-type]
        )
        if done.returncode != 0:
            raise ChaosSetupError(f"initdb failed: {(done.stdout + done.stderr).decode()}")
        return self

    def start(self) -> None:
        """Start the postmaster (from the main thread) and return once it accepts connections."""
        command = [
            str(self._bin / "postgres"),
            *("-D", str(self.directory / "data"), "-h", HOST, "-p", str(self.port)),
            *("-k", str(self.socket_dir)),
            *("-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=100"),
            *("-c", "shared_buffers=32MB", "-c", "log_min_messages=warning"),
        ]
        self._process = _spawn(
            command, self.log_path, env=self._environment(), cwd=self.directory, **self._options
        )
        self._wait_ready()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop_fast(self) -> None:
        """`pg_ctl stop -m fast`: backends are told to end, open transactions roll back."""
        _end(self._process, signal.SIGINT)

    def kill(self) -> None:
        """A crash: SIGKILL to the postmaster and every backend (one process group)."""
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def close(self) -> None:
        self.stop_fast()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _wait_ready(self) -> None:
        # Our own Unix socket: a TCP check might be answered by some other server.
        command = [str(self._bin / "pg_isready"), "-h", str(self.socket_dir), "-p", str(self.port)]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ChaosSetupError(f"postgres exited:\n{tail(self.log_path)}")
            if subprocess.run(command, capture_output=True, check=False).returncode == 0:  # noqa: S603
                return
            time.sleep(POLL_S)
        raise ChaosSetupError(f"postgres not ready:\n{tail(self.log_path)}")

    def _environment(self) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}


class PrivateRedis:
    """A Redis of the test's own that keeps nothing on disk: a restart is a Redis that lost
    everything (streams, consumer groups, rate-limit counters)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="strata-chaos-redis-"))
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            *("--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"),
            *("--dir", str(self.directory), "--protected-mode", "no"),
        ]
        self._process = _spawn(
            command, self.directory / "redis.log", env=os.environ, cwd=self.directory
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChaosSetupError(f"redis exited:\n{tail(self.directory / 'redis.log')}")
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(POLL_S)
        raise ChaosSetupError("redis not ready")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        _end(self._process, signal.SIGKILL)

    def close(self) -> None:
        _end(self._process, signal.SIGTERM)
        shutil.rmtree(self.directory, ignore_errors=True)


class StrataProcess:
    """`strata serve` or `strata worker` with the test's environment; restartable, killable."""

    def __init__(self, role: str, env: Mapping[str, str], workdir: Path, port: int = 0) -> None:
        self.role = role
        self.port = port
        self._env = {**env, "PORT": str(port)} if port else dict(env)
        self._workdir = workdir
        self.log_path = workdir / f"{role}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        command = [str(STRATA), self.role, *(("--workers", "1") if self.role == "serve" else ())]
        # Away from the repository, so no developer .env is read.
        self.process = _spawn(command, self.log_path, env=self._env, cwd=self._workdir)

    def wait_live(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until /health/live answers (the API) or a while without exiting (a worker)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise ChaosSetupError(f"strata {self.role} exited:\n{tail(self.log_path)}")
            if self.role != "serve":
                return
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/health/live", timeout=2).status_code == 200:
                    return
            time.sleep(POLL_S * 2)
        raise ChaosSetupError(f"strata {self.role} not live:\n{tail(self.log_path)}")

    def kill(self) -> None:
        """SIGKILL: no drain, no shutdown hook, as an OOM kill or a lost machine."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        _end(self.process, signal.SIGTERM)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None
