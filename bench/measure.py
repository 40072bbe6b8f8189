"""One measured wrk run against a running server: warm-up, the run itself while the server's memory
is sampled, and a wait until the server is idle again; plus login under load with /health/live
measured beside it."""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.config import (
    HEALTH_CONNECTIONS,
    IDLE_MAX_TICKS,
    IDLE_QUIET_SAMPLES,
    IDLE_SAMPLE_INTERVAL_S,
    IDLE_TIMEOUT_S,
    MEMORY_SAMPLE_INTERVAL_S,
    PRODUCT_ID_SAMPLE,
    RECOMMENDATION_BODY,
    BenchError,
    log,
)
from bench.endpoints import Endpoint, health_beside_login, login_endpoint
from bench.hashes import BareHashes
from bench.records import CacheLookups, Memory, Row, endpoint_checks, format_ms
from bench.servers import App, Server, http_get
from bench.wrk import FINISH_GRACE_S, Load, WrkResult, finish_wrk, run_wrk, start_wrk

# ---------------------------------------------------------------- the server process


def proc_status_kib(pid: int, key: str) -> int:
    """A number from /proc/<pid>/status: `VmRSS` and `VmHWM` are in KiB, `Threads` a count (0
    once the process is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(frozen=True, slots=True)
class Peak:
    rss_kib: int = 0
    threads: int = 0


class RssSampler:
    """Samples a process's VmRSS (and thread count) in a background thread while a `with` block
    runs; `peak` holds the highest of each."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self.peak = Peak()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = Peak(
                max(self.peak.rss_kib, proc_status_kib(self._pid, "VmRSS")),
                max(self.peak.threads, proc_status_kib(self._pid, "Threads")),
            )
            self._stop.wait(MEMORY_SAMPLE_INTERVAL_S)


def cpu_ticks(pid: int) -> int:
    """User plus system CPU time of a process, in clock ticks (0 once the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the parenthesised command name (which may contain spaces); utime and stime
    # are fields 14 and 15 of the whole line.
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def wait_idle(pid: int) -> float:
    """Wait until the server stops using CPU; the seconds it took.

    wrk closes its connections when its time is up, but the server still finishes what it had
    accepted: after 64 logins in flight that is seconds of Argon2 work, which would otherwise be
    measured as part of the next run.
    """
    started = time.monotonic()
    quiet = 0
    previous = cpu_ticks(pid)
    while quiet < IDLE_QUIET_SAMPLES and time.monotonic() - started < IDLE_TIMEOUT_S:
        time.sleep(IDLE_SAMPLE_INTERVAL_S)
        current = cpu_ticks(pid)
        quiet = quiet + 1 if current - previous <= IDLE_MAX_TICKS else 0
        previous = current
    return time.monotonic() - started


def catalog_cache_lookups(server: Server) -> CacheLookups | None:
    """The catalog cache's hit and miss counters from the server's /metrics (None, with a warning,
    when they cannot be read: they explain the numbers but are not needed to take them)."""
    counts = {"hit": 0, "miss": 0}
    try:
        status, body = http_get(server.port, "/metrics")
    except OSError as error:
        status, body = 0, str(error).encode()
    if status != 200:
        log(f"    warning: GET /metrics answered {status}; catalog cache counters not recorded")
        return None
    for match in _CACHE_LOOKUPS.finditer(body.decode(errors="replace")):
        if match["cache"] == "product" and match["outcome"] in counts:
            counts[match["outcome"]] = int(float(match["value"]))
    return CacheLookups(hits=counts["hit"], misses=counts["miss"])


# Prometheus text format; the labels come out in the order the collector declares them.
_CACHE_LOOKUPS = re.compile(
    r'^read_cache_lookups_total\{cache="(?P<cache>[^"]*)",outcome="(?P<outcome>[^"]*)"\}'
    r" (?P<value>\S+)$",
    re.MULTILINE,
)


def server_memory(server: Server, idle_kib: int, rows: Sequence[Row]) -> Memory:
    """The memory summary of a server about to stop, from the peaks its rows sampled."""
    return Memory(
        idle_rss_kib=idle_kib,
        peak_rss_kib=max((row.peak_rss_kib for row in rows), default=0),
        hwm_kib=proc_status_kib(server.pid, "VmHWM"),
        peak_threads=max((row.peak_threads for row in rows), default=0),
    )


# ---------------------------------------------------------------- what the scripts send


def product_ids(server: Server) -> list[str]:
    """A repeatable sample of existing ids, read before the runs, for product.lua to rotate over."""
    status, body = http_get(server.port, "/api/v1/products?limit=100")
    if status != 200:
        raise BenchError(f"GET /api/v1/products?limit=100 answered {status}: {body[:300]!r}")
    ids = [item["id"] for item in json.loads(body)["items"]]
    if not ids:
        raise BenchError("the catalog is empty: seeding failed")
    return random.Random(1).sample(ids, min(PRODUCT_ID_SAMPLE, len(ids)))


def script_env(app: App, ids: Sequence[str]) -> dict[str, str]:
    return {
        "BENCH_PRODUCT_IDS": ",".join(ids),
        "BENCH_USERNAME": app.admin_email,
        "BENCH_PASSWORD": app.admin_password,
        "BENCH_BODY": RECOMMENDATION_BODY,
    }


# ---------------------------------------------------------------- measured runs


def measure(
    server: Server, load: Load, warmup_s: int, endpoint: Endpoint
) -> tuple[WrkResult, Peak]:
    """Warm up, then one measured wrk run; the result and the server's peak RSS meanwhile."""
    log(f"  {endpoint.label}: {warmup_s} s warm-up, {load.duration_s} s measured")
    if warmup_s:
        warm_up(server, load, warmup_s, endpoint)
    with RssSampler(server.pid) as rss:
        result = run_wrk(load, server.base_url, endpoint)
    _drain(server)
    _warn_on_errors("run", result)
    log(
        f"    {result.rps:,.1f} req/s, p50 {format_ms(result.p50_ms)} ms, "
        f"p99 {format_ms(result.p99_ms)} ms"
    )
    return result, rss.peak


def warm_up(server: Server, load: Load, warmup_s: int, endpoint: Endpoint) -> WrkResult:
    """A warm-up run (not measured), then a wait until the server is idle again."""
    warm = run_wrk(load.with_duration(warmup_s), server.base_url, endpoint)
    _warn_on_errors("warm-up", warm)
    _drain(server)
    return warm


def measure_row(
    server: Server, load: Load, warmup_s: int, endpoint: Endpoint, ceiling_rps: float
) -> Row:
    result, peak = measure(server, load, warmup_s, endpoint)
    checks = endpoint_checks(endpoint, result, ceiling_rps)
    return Row(endpoint, result, ceiling_rps, checks, peak.rss_kib, peak.threads, load.connections)


def measure_login_with_health(
    server: Server,
    load: Load,
    warmup_s: int,
    ceiling_rps: float,
    in_flight: int,
    bare_hashes: BareHashes,
) -> list[Row]:
    """`in_flight` logins at once and, at the same time, a few connections asking /health/live:
    does the event loop stay responsive while Argon2 runs? The logins per second are compared
    with `bare_hashes`, as many Argon2id verifications at once with nothing around them."""
    login = login_endpoint(in_flight)
    health_endpoint = health_beside_login(in_flight)
    logins = load.with_connections(in_flight)
    health = load.with_connections(HEALTH_CONNECTIONS)
    log(f"  {login.label} + {health_endpoint.label}")
    if warmup_s:
        _warn_on_errors("warm-up", run_wrk(logins.with_duration(warmup_s), server.base_url, login))
        _drain(server)
    timeout_s = load.duration_s + FINISH_GRACE_S
    with RssSampler(server.pid) as rss:
        login_process = start_wrk(logins, server.base_url, login)
        try:
            health_process = start_wrk(health, server.base_url, health_endpoint)
            health_result = finish_wrk(health_process, timeout_s=timeout_s)
        finally:
            login_result = finish_wrk(login_process, timeout_s=timeout_s)
    _drain(server)
    rows = []
    for endpoint, result, connections in (
        (login, login_result, in_flight),
        (health_endpoint, health_result, HEALTH_CONNECTIONS),
    ):
        _warn_on_errors(endpoint.label, result)
        log(f"    {endpoint.label}: {result.rps:,.1f} req/s, p99 {format_ms(result.p99_ms)} ms")
        checks = endpoint_checks(endpoint, result, ceiling_rps, bare_hashes)
        peak = rss.peak
        rows.append(
            Row(endpoint, result, ceiling_rps, checks, peak.rss_kib, peak.threads, connections)
        )
    return rows


def _drain(server: Server) -> None:
    waited = wait_idle(server.pid)
    if waited > 1:
        log(f"    server busy {waited:.1f} s after wrk stopped (finishing accepted requests)")


def _warn_on_errors(what: str, result: WrkResult) -> None:
    if result.errors:
        log(
            f"    warning ({what}): {result.errors} of {result.requests} requests failed "
            f"(non-2xx {result.non2xx}, socket {result.socket_errors}, timeouts {result.timeouts})"
        )
