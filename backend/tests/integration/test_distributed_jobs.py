"""Jobs and events across real processes: API servers and `strata worker`s sharing a database and
a real Redis, started as subprocesses with the probe feature (`tests/job_feature/`).

Each test owns Redis database 12 (`TEST_REDIS_CLUSTER_URL`), which it flushes before and after:
the job and event streams have fixed names, and a flush is itself one of the cases tested.
"""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import pytest_asyncio
import sqlalchemy as sa
from redis.asyncio import Redis

from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.models.event import ProcessedEventModel
from app.infrastructure.models.job import JobModel
from tests.databases import fresh_database
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, TEST_SECRET_KEY
from tests.job_feature.feature import MIGRATIONS, effects_table

REDIS_URL = os.environ.get("TEST_REDIS_CLUSTER_URL", "redis://127.0.0.1:6379/12")
BACKEND_DIR = Path(__file__).resolve().parents[2]
JOBS = cast(sa.Table, JobModel.__table__)
CLAIMS = cast(sa.Table, ProcessedEventModel.__table__)
PROBE = "/api/v1/probe/jobs"


@pytest_asyncio.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest_asyncio.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        await asyncio.to_thread(migrations.upgrade, url, "heads", [MIGRATIONS])
        yield url


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    """API and worker processes of one test; all are stopped (and, if need be, killed) after."""

    def __init__(self, database_url: str, tmp_path: Path, **settings: str) -> None:
        self.env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": TEST_SECRET_KEY,
            # One key for the cluster: a file an API stored is read by a worker.
            "FILE_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
            "FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
            "FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "LOG_LEVEL": "WARNING",
            "PASSWORD_HASH_MEMORY_KIB": "1024",
            "PASSWORD_HASH_ITERATIONS": "1",
            "RATE_LIMIT_ENABLED": "false",
            "VAR_DIR": str(tmp_path / "var"),
            "MAIL_DIR": str(tmp_path / "mail"),
            "STORAGE_DIR": str(tmp_path / "files"),
            # A lost job message is resent sooner than in production's 30 s.
            "FEATURES__JOB__RESEND_AFTER_SECONDS": "2",
            **settings,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.apis: list[str] = []

    def _start(self, *args: str, **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "tests.job_feature.processes", *args],
            cwd=BACKEND_DIR,
            env={**self.env, **env},
        )
        self.processes.append(process)
        return process

    async def start_api(self) -> str:
        port = free_port()
        self._start("api", str(port))
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url) as client:
            await eventually(lambda: answers(client), seconds=30)
        self.apis.append(base_url)
        return base_url

    def start_worker(self, **env: str) -> subprocess.Popen[bytes]:
        return self._start("worker", **env)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def answers(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health/live")).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def cluster(database_url: str, tmp_path: Path, **settings: str) -> Iterator[Cluster]:
    running = Cluster(database_url, tmp_path, **settings)
    try:
        yield running
    finally:
        running.stop()


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def connected(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


async def rows(database_url: str, query: Any) -> list[Any]:
    async with connected(database_url) as database, database.engine.connect() as connection:
        return list((await connection.execute(query)).mappings())


async def count(database_url: str, query: Any) -> int:
    async with connected(database_url) as database, database.engine.connect() as connection:
        return int(await connection.scalar(query) or 0)


async def make_jobs(base_url: str, kind: str, count: int, **payload: Any) -> list[str]:
    body = {"kind": kind, "count": count, "payload": payload}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        response = await client.post(PROBE, json=body)
        # On SQLite, five processes contend for one writer: a request that waited past the
        # database timeout is answered 503 with Retry-After (nothing was made), and a client
        # does as told. Bounded, so a server that keeps refusing still fails the test.
        for _ in range(3):
            if response.status_code != 503:
                break
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
            response = await client.post(PROBE, json=body)
    assert response.status_code == 202, response.text
    return list(response.json()["ids"])


async def statuses(database_url: str, kind: str) -> list[str]:
    return [
        row["status"]
        for row in await rows(database_url, sa.select(JOBS.c.status).where(JOBS.c.kind == kind))
    ]


async def all_succeeded(database_url: str, kind: str, expected: int) -> bool:
    found = await statuses(database_url, kind)
    return len(found) == expected and set(found) == {"succeeded"}


async def test_two_apis_and_three_workers_run_every_job_and_hand_every_event_once(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path) as running:
        apis = await asyncio.gather(running.start_api(), running.start_api())
        workers = [running.start_worker() for _ in range(3)]
        # 1,000 jobs, each of which records one event (1,000 events), made through both APIs.
        batches = [make_jobs(apis[n % 2], "probe.events", 50) for n in range(20)]
        made = [job_id for batch in await asyncio.gather(*batches) for job_id in batch]
        async with httpx.AsyncClient(base_url=apis[0]) as client:  # made, then rolled back
            refused = await client.post(
                PROBE, json={"kind": "probe.events", "count": 50, "roll_back": True}
            )
        assert refused.status_code == 422
        await eventually(lambda: all_succeeded(database_url, "probe.events", 1_000), seconds=120)
        await eventually(
            lambda: count_is(
                database_url, sa.select(sa.func.count()).select_from(effects_table), 1_000
            ),
            seconds=60,
        )

    assert len(set(made)) == 1_000
    jobs = await rows(database_url, sa.select(JOBS).where(JOBS.c.kind == "probe.events"))
    assert {row["attempts"] for row in jobs} == {
        1
    }  # each ran once: a second run would record a second event
    handled = await rows(database_url, sa.select(effects_table.c.pid))
    assert len(handled) == 1_000  # each event's effect once
    assert {row["pid"] for row in handled} <= {worker.pid for worker in workers}
    claims = await count(
        database_url,
        sa.select(sa.func.count()).select_from(CLAIMS).where(CLAIMS.c.handler == "probe.count"),
    )
    assert claims == 1_000
    assert len({row["pid"] for row in handled}) > 1  # the work was shared


async def count_is(database_url: str, query: Any, expected: int) -> bool:
    return await count(database_url, query) == expected


async def test_a_job_whose_worker_is_killed_finishes_once_on_another_worker(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path, FEATURES__JOB__CONCURRENCY="1") as running:
        api = await running.start_api()
        doomed = running.start_worker()
        [job_id] = await make_jobs(api, "probe.record", 1, sleep=3)
        await eventually(lambda: is_running_on(database_url, job_id, doomed.pid), seconds=30)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        rescuer = running.start_worker()
        await eventually(lambda: all_succeeded(database_url, "probe.record", 1), seconds=60)

    [job] = await rows(database_url, sa.select(JOBS).where(JOBS.c.kind == "probe.record"))
    assert job["attempts"] == 2  # the killed attempt and the one that finished
    effects = await rows(database_url, sa.select(effects_table))
    assert [row["pid"] for row in effects] == [rescuer.pid]


async def is_running_on(database_url: str, job_id: str, pid: int) -> bool:
    found = await rows(database_url, sa.select(JOBS.c.status, JOBS.c.worker))
    return any(row["status"] == "running" and f"/{pid}/" in (row["worker"] or "") for row in found)


async def test_a_job_longer_than_its_visibility_timeout_runs_once_while_its_worker_lives(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    # probe.record's visibility timeout is 3 s: the lease is renewed while the job runs, so the
    # second worker never takes it over (taskiq's idle-time redelivery would have).
    with cluster(database_url, tmp_path) as running:
        api = await running.start_api()
        running.start_worker()
        running.start_worker()
        await make_jobs(api, "probe.record", 1, sleep=7)
        await eventually(lambda: all_succeeded(database_url, "probe.record", 1), seconds=60)

    [job] = await rows(database_url, sa.select(JOBS).where(JOBS.c.kind == "probe.record"))
    assert job["attempts"] == 1
    assert len(await rows(database_url, sa.select(effects_table))) == 1


async def sigterm_while_running(
    database_url: str, tmp_path: Path, *, drain_seconds: str, job_seconds: float
) -> int:
    """Start a worker, let it start one probe.record job, SIGTERM it; its exit code."""
    with cluster(database_url, tmp_path, FEATURES__JOB__DRAIN_SECONDS=drain_seconds) as running:
        api = await running.start_api()
        worker = running.start_worker()
        [job_id] = await make_jobs(api, "probe.record", 1, sleep=job_seconds)
        await eventually(lambda: is_running_on(database_url, job_id, worker.pid), seconds=30)
        worker.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(worker.wait, 15)


async def test_sigterm_lets_a_running_job_finish_then_the_worker_exits_0(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    exit_code = await sigterm_while_running(
        database_url, tmp_path, drain_seconds="10", job_seconds=1.5
    )

    assert exit_code == 0
    assert await statuses(database_url, "probe.record") == ["succeeded"]
    assert len(await rows(database_url, sa.select(effects_table))) == 1


async def test_sigterm_past_the_drain_bound_hands_the_job_back_and_exits_0(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    exit_code = await sigterm_while_running(
        database_url, tmp_path, drain_seconds="0.5", job_seconds=30
    )

    assert exit_code == 0
    [job] = await rows(database_url, sa.select(JOBS).where(JOBS.c.kind == "probe.record"))
    assert (job["status"], job["attempts"], job["worker"]) == ("queued", 0, None)
    assert await rows(database_url, sa.select(effects_table)) == []


async def test_after_redis_is_flushed_groups_are_recreated_and_nothing_is_lost(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path) as running:
        api = await running.start_api()
        running.start_worker()
        running.start_worker()
        await make_jobs(api, "probe.events", 20)
        await eventually(lambda: all_succeeded(database_url, "probe.events", 20))

        await redis.flushdb()  # streams, consumer groups and all
        await make_jobs(api, "probe.events", 20)
        await make_jobs(api, "probe.record", 20)
        await eventually(lambda: all_succeeded(database_url, "probe.events", 40), seconds=60)
        await eventually(lambda: all_succeeded(database_url, "probe.record", 20), seconds=60)
        await eventually(
            lambda: count_is(
                database_url, sa.select(sa.func.count()).select_from(effects_table), 60
            ),
            seconds=60,
        )
        groups = await redis.xinfo_groups("strata:jobs")

    assert [group["name"] for group in groups] == [b"strata-workers"]


async def test_a_catalog_write_in_one_api_is_read_in_another_within_a_second(
    database_url: str, redis: Redis, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path, PRODUCT_CACHE_TTL_SECONDS="600") as running:
        writer_url, reader_url = await asyncio.gather(running.start_api(), running.start_api())
        async with (
            httpx.AsyncClient(base_url=writer_url) as writer,
            httpx.AsyncClient(base_url=reader_url) as reader,
        ):
            login = await writer.post(
                "/api/v1/auth/login", data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            )
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            created = await writer.post(
                "/api/v1/products",
                json={
                    "name": "Lamp",
                    "category": "books",
                    "price_range": "low",
                    "price_cents": 900,
                },
                headers=admin,
            )
            assert created.status_code == 201, created.text
            path = f"/api/v1/products/{created.json()['id']}"
            assert (await reader.get(path)).json()["name"] == "Lamp"  # now in the reader's cache
            await asyncio.sleep(0.3)  # the follower has read past the creation

            renamed = await writer.patch(path, json={"name": "Desk lamp"}, headers=admin)
            assert renamed.status_code == 200, renamed.text
            started = asyncio.get_running_loop().time()

            async def renamed_there() -> bool:
                return bool((await reader.get(path)).json()["name"] == "Desk lamp")

            await eventually(renamed_there, seconds=10)
            seen_after = asyncio.get_running_loop().time() - started

    assert seen_after < 1.0, f"seen after {seen_after:.2f} s"


@pytest.fixture(autouse=True)
def _only_with_redis() -> None:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        pytest.fail("these tests need the Redis of the test environment (127.0.0.1:6379)")
