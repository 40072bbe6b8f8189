"""The jobs and events pass of `make bench`, on each database:

- no-op jobs per second end to end (from the request that makes them to `succeeded` in the table):
  embedded (the API process runs them), then distributed (Redis Streams) with 1 and 2
  `strata worker`s;
- the outbox relay under a steady 500 writes/s (each write records one event): events published
  per second, and the lag from each event's commit to its hand-out (p50, p99).

Servers and workers are the multi-process tests' (`tests/job_feature/processes.py`: the app with
its probe feature, whose `probe.noop` job does nothing and whose `POST /api/v1/probe/events`
records events as any write would). Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/11),
a database of the benchmark's own, flushed before and after.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import sqlalchemy as sa

from bench.config import BACKEND_DIR, BenchError, log
from bench.servers import free_port

JOBS_PER_RUN = 2_000
JOBS_PER_REQUEST = 200
WORKER_CONCURRENCY = 8
EVENT_WRITES_PER_S = 500
EVENT_SECONDS = 10
EVENT_APIS = 2  # API processes the writes are spread over (one worker handles the events)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
READY_TIMEOUT_S = 60


@dataclass(slots=True)
class JobsReport:
    database: str
    jobs_per_s: dict[str, float] = field(default_factory=dict)  # by setup
    events_offered_per_s: float = 0.0
    events_published_per_s: float = 0.0
    lag_p50_ms: float = 0.0
    lag_p99_ms: float = 0.0
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "jobs_per_s": self.jobs_per_s,
            "events": {
                "offered_per_s": self.events_offered_per_s,
                "published_per_s": self.events_published_per_s,
                "lag_p50_ms": self.lag_p50_ms,
                "lag_p99_ms": self.lag_p99_ms,
            },
            "note": self.note,
        }


def jobs_pass(key: str, database_url: str, workdir: Path) -> JobsReport:
    """Every measurement of this pass on one (empty, migrated) database."""
    report = JobsReport(key)
    asyncio.run(_migrate(database_url))
    env = _env(database_url, workdir / f"jobs-{key}")
    log(f"[{key}] jobs: embedded")
    report.jobs_per_s["embedded (the API process)"] = _jobs_per_s(env, workers=0)
    if not _redis_answers():
        report.note = f"Redis does not answer at {REDIS_URL}: distributed rows skipped"
        return report
    for workers in (1, 2):
        log(f"[{key}] jobs: distributed, {workers} worker(s)")
        label = f"distributed, {workers} worker{'s' if workers > 1 else ''}"
        report.jobs_per_s[label] = _jobs_per_s({**env, "REDIS_URL": REDIS_URL}, workers=workers)
    log(f"[{key}] events: outbox relay at {EVENT_WRITES_PER_S} writes/s")
    _measure_events({**env, "REDIS_URL": REDIS_URL}, report)
    return report


def render_jobs(reports: list[JobsReport]) -> list[str]:
    if not reports:
        return []
    lines = [
        "## Jobs and events",
        "",
        f"No-op jobs, {JOBS_PER_RUN:,} made in {JOBS_PER_RUN // JOBS_PER_REQUEST} concurrent "
        f"requests, timed from the first request to the last `succeeded` row (workers: "
        f"concurrency {WORKER_CONCURRENCY}; embedded: the default 4). Events: "
        f"{EVENT_WRITES_PER_S} writes/s offered for {EVENT_SECONDS} s over {EVENT_APIS} API "
        "processes (one paced client process each; one worker handles the events), each write "
        "one event relayed after its commit; lag is `published_at - recorded_at` of each event.",
        "",
        "| database | setup | jobs/s |",
        "| --- | --- | ---: |",
    ]
    for report in reports:
        for setup, rate in report.jobs_per_s.items():
            lines.append(f"| {report.database} | {setup} | {rate:,.0f} |")
    lines += [
        "",
        "| database | writes/s answered | events published/s | lag p50 | lag p99 |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for report in reports:
        lines.append(
            f"| {report.database} | {report.events_offered_per_s:,.0f} | "
            f"{report.events_published_per_s:,.0f} | {report.lag_p50_ms:,.1f} ms | "
            f"{report.lag_p99_ms:,.1f} ms |"
        )
    lines += [f"- {report.database}: {report.note}" for report in reports if report.note]
    lines.append("")
    return lines


# ---------------------------------------------------------------- measurements


def _jobs_per_s(env: Mapping[str, str], *, workers: int) -> float:
    asyncio.run(_truncate(env["DATABASE_URL"]))
    with _processes(env, workers=workers) as base_url:
        return asyncio.run(_time_jobs(base_url, env["DATABASE_URL"]))


async def _time_jobs(base_url: str, database_url: str) -> float:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:
        started = time.perf_counter()
        responses = await asyncio.gather(
            *(
                client.post(
                    "/api/v1/probe/jobs", json={"kind": "probe.noop", "count": JOBS_PER_REQUEST}
                )
                for _ in range(JOBS_PER_RUN // JOBS_PER_REQUEST)
            )
        )
        for response in responses:
            if response.status_code != 202:
                raise BenchError(f"making jobs failed: {response.status_code} {response.text}")
        done = sa.text(
            "SELECT count(*) FROM jobs WHERE kind = 'probe.noop' AND status = 'succeeded'"
        )
        async with _engine(database_url) as engine:
            while await _scalar(engine, done) < JOBS_PER_RUN:
                if time.perf_counter() - started > 300:
                    raise BenchError("no-op jobs did not finish within 5 minutes")
                await asyncio.sleep(0.01)
        return JOBS_PER_RUN / (time.perf_counter() - started)


def _measure_events(env: Mapping[str, str], report: JobsReport) -> None:
    asyncio.run(_truncate(env["DATABASE_URL"]))
    with _cluster(env, workers=1, apis=EVENT_APIS) as base_urls:
        # One pacing client process per API server: one Python client alone tops out below the
        # rate, and the load generator must not be what is measured.
        rate = EVENT_WRITES_PER_S / len(base_urls)
        context = multiprocessing.get_context("spawn")
        with context.Pool(len(base_urls)) as pool:
            sent = pool.starmap(_pace_writes, [(url, rate, EVENT_SECONDS) for url in base_urls])
        longest = max(elapsed for _, elapsed in sent)
        report.events_offered_per_s = sum(count for count, _ in sent) / max(longest, 1e-9)
        asyncio.run(_read_lag(env["DATABASE_URL"], report))


def _pace_writes(base_url: str, rate: float, seconds: int) -> tuple[int, float]:
    """Send `rate` writes a second for `seconds` (each one event); how many were answered 204,
    and over how long."""
    return asyncio.run(_paced(base_url, rate, seconds))


async def _paced(base_url: str, rate: float, seconds: int) -> tuple[int, float]:
    import aiohttp  # noqa: PLC0415  (a dependency of taskiq: faster than httpx for this)

    total = int(rate * seconds)
    answered = 0
    connector = aiohttp.TCPConnector(limit=64)
    async with aiohttp.ClientSession(base_url, connector=connector) as session:
        started = time.perf_counter()

        async def write(n: int) -> None:
            nonlocal answered
            await asyncio.sleep(max(started + n / rate - time.perf_counter(), 0))
            async with session.post("/api/v1/probe/events", json={"count": 1}) as response:
                answered += response.status == 204

        await asyncio.gather(*(write(n) for n in range(total)))
        return answered, time.perf_counter() - started


async def _read_lag(database_url: str, report: JobsReport) -> None:
    query = sa.text("SELECT recorded_at, published_at FROM outbox WHERE name = 'ProbeHappened'")
    async with _engine(database_url) as engine:
        waiting = sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        for _ in range(3_000):  # up to 5 minutes
            if not await _scalar(engine, waiting):
                break
            await asyncio.sleep(0.1)
        else:
            raise BenchError("events were still unpublished 5 minutes after the writes")
        async with engine.connect() as connection:
            rows = (await connection.execute(query)).all()
    recorded = [_time(row[0]) for row in rows]
    published = [_time(row[1]) for row in rows]
    lags = sorted((p - r) * 1000 for r, p in zip(recorded, published, strict=True))
    report.lag_p50_ms = statistics.median(lags)
    report.lag_p99_ms = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    report.events_published_per_s = len(rows) / max(max(published) - min(recorded), 1e-9)


# ---------------------------------------------------------------- processes and databases


def _env(database_url: str, directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    return {
        **{name: value for name, value in os.environ.items() if name != "REDIS_URL"},
        "ENVIRONMENT": "test",
        "DATABASE_URL": database_url,
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENABLED": "false",
        "VAR_DIR": str(directory / "var"),
        "MAIL_DIR": str(directory / "mail"),
        "STORAGE_DIR": str(directory / "files"),
    }


@contextlib.contextmanager
def _processes(env: Mapping[str, str], *, workers: int) -> Iterator[str]:
    with _cluster(env, workers=workers, apis=1) as base_urls:
        yield base_urls[0]


@contextlib.contextmanager
def _cluster(env: Mapping[str, str], *, workers: int, apis: int) -> Iterator[list[str]]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        base_urls = []
        for _ in range(apis):
            port = free_port()
            started.append(_spawn(["api", str(port)], env))
            base_urls.append(f"http://127.0.0.1:{port}")
        for _ in range(workers):
            started.append(
                _spawn(["worker"], {**env, "FEATURES__JOB__CONCURRENCY": str(WORKER_CONCURRENCY)})
            )
        for base_url, process in zip(base_urls, started, strict=False):
            _wait_ready(base_url, process)
        if workers:
            time.sleep(2)  # the workers' start-up (imports, migrations check) is not measured
        yield base_urls
    finally:
        for process in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        with contextlib.suppress(Exception):
            asyncio.run(_flush_redis())


def _spawn(args: list[str], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # our own interpreter and module
        [sys.executable, "-m", "tests.job_feature.processes", *args],
        cwd=BACKEND_DIR,
        env=dict(env),
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait_ready(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"the jobs pass's API server exited with {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health/live", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise BenchError("the jobs pass's API server did not start")


def _redis_answers() -> bool:
    try:
        asyncio.run(_flush_redis())
    except Exception:
        return False
    return True


async def _flush_redis() -> None:
    from redis.asyncio import Redis  # noqa: PLC0415  (only this pass needs it)

    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def _migrate(database_url: str) -> None:
    sys.path.insert(0, str(BACKEND_DIR))
    from app.infrastructure.database import migrations  # noqa: PLC0415
    from tests.job_feature.feature import MIGRATIONS  # noqa: PLC0415

    await asyncio.to_thread(migrations.upgrade, database_url, "heads", [MIGRATIONS])


async def _truncate(database_url: str) -> None:
    async with _engine(database_url) as engine, engine.begin() as connection:
        for table in ("jobs", "outbox", "processed_events", "probe_effects"):
            await connection.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 (fixed names)


@contextlib.asynccontextmanager
async def _engine(database_url: str) -> AsyncIterator[Any]:
    from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

    engine = create_async_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _scalar(engine: Any, query: Any) -> int:
    async with engine.connect() as connection:
        return int(cast(int, await connection.scalar(query)) or 0)


def _time(value: Any) -> float:
    """A timestamp as seconds (SQLite hands raw text back to a text query)."""
    from datetime import UTC, datetime  # noqa: PLC0415

    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return float(moment.timestamp())
