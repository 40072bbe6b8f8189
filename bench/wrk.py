"""The load generator: finding (or installing) wrk, running it, and reading the one `BENCH_JSON`
line that bench/lua/report.lua prints when a run ends."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.config import LUA_DIR, WRK_TIMEOUT, BenchError, log
from bench.endpoints import Endpoint

# Beyond its own duration, how long a wrk run may take before it is killed: it waits for the
# answers still in flight (up to WRK_TIMEOUT each) and prints its report.
FINISH_GRACE_S = 60


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") is None:
        raise BenchError("wrk is not installed and apt-get is missing: install wrk and retry")
    log("wrk not found: apt-get install -y wrk")
    if subprocess.run(["apt-get", "install", "-y", "wrk"], check=False).returncode != 0:
        # A fresh container has no package lists yet.
        subprocess.run(["apt-get", "update"], check=False)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False)
    found = shutil.which("wrk")
    if not found:
        raise BenchError("could not install wrk (apt-get install -y wrk failed; are you root?)")
    return found


def wrk_version(wrk: str) -> str:
    # `wrk --version` prints its banner and exits 1.
    output = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout
    banner = output.splitlines()[0] if output else "unknown"
    return banner.split(" Copyright")[0].strip()


@dataclass(frozen=True, slots=True)
class Load:
    """How wrk drives one run; `script_env` reaches the Lua scripts through os.getenv."""

    wrk: str
    connections: int
    duration_s: int
    script_env: Mapping[str, str]

    def with_duration(self, duration_s: int) -> Load:
        return dataclasses.replace(self, duration_s=duration_s)

    def with_connections(self, connections: int) -> Load:
        return dataclasses.replace(self, connections=connections)

    def with_script_env(self, **values: str) -> Load:
        return dataclasses.replace(self, script_env={**self.script_env, **values})


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    non2xx: int
    socket_errors: int
    timeouts: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        # wrk's "status" errors (>= 400) are a subset of non2xx, so they are not added again.
        return self.non2xx + self.socket_errors + self.timeouts

    def to_json(self) -> dict[str, Any]:
        return {
            "rps": round(self.rps, 1),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "p999_ms": self.p999_ms,
            "max_ms": self.max_ms,
            "requests": self.requests,
            "duration_s": self.duration_s,
            "errors": self.errors,
            "non2xx": self.non2xx,
            "socket_errors": self.socket_errors,
            "timeouts": self.timeouts,
        }


def start_wrk(load: Load, base_url: str, endpoint: Endpoint) -> subprocess.Popen[str]:
    command = [
        load.wrk,
        "-t1",  # one core for the load generator: the machine has two and shares them
        f"-c{load.connections}",
        f"-d{load.duration_s}s",
        "--latency",
        "--timeout",
        WRK_TIMEOUT,
        "-s",
        str(LUA_DIR / endpoint.script),
        base_url + endpoint.path,
    ]
    env = {**os.environ, **load.script_env}
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish_wrk(process: subprocess.Popen[str], timeout_s: float) -> WrkResult:
    try:
        stdout, stderr = process.communicate(timeout=timeout_s)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    for line in stdout.splitlines():
        if line.startswith("BENCH_JSON "):
            return _parse_report(json.loads(line.removeprefix("BENCH_JSON ")))
    raise BenchError(f"wrk printed no report (exit {process.returncode}):\n{stdout}\n{stderr}")


def run_wrk(load: Load, base_url: str, endpoint: Endpoint) -> WrkResult:
    process = start_wrk(load, base_url, endpoint)
    return finish_wrk(process, timeout_s=load.duration_s + FINISH_GRACE_S)


def _parse_report(raw: Mapping[str, Any]) -> WrkResult:
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        p999_ms=raw["p999_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        non2xx=int(raw["non2xx"]),
        socket_errors=int(raw["connect_errors"] + raw["read_errors"] + raw["write_errors"]),
        timeouts=int(raw["timeouts"]),
    )
