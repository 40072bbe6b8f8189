"""Background jobs in the embedded mode (no Redis: the API process runs them with taskiq's
in-memory broker), through the probe feature (`tests/job_feature/`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest_asyncio
import sqlalchemy as sa
from httpx import AsyncClient

from app.domain.entities.job import Job, JobStatus
from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.models.event import OutboxEventModel
from app.infrastructure.models.job import JobModel
from app.infrastructure.repositories.job import SqlAlchemyJobRepository
from app.presentation.api.v1.dependencies.job import worker_identity
from tests.databases import fresh_database, registered_features
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, login, make_settings, running_client
from tests.e2e.payments_helpers import account
from tests.job_feature.feature import FEATURE as PROBE_FEATURE
from tests.job_feature.feature import MIGRATIONS, effects_table

JOBS = "/api/v1/admin/jobs"
PROBE = "/api/v1/probe/jobs"
PERIODIC_KINDS = {
    "event.forget_old",
    "job.forget_finished",
    "session.sweep_expired",
    "idempotency.sweep_expired",
    "payment.forget_webhook_payloads",
}


@pytest_asyncio.fixture
async def probe_database(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    async with fresh_database(backend, tmp_path, migrate=False) as url:
        await asyncio.to_thread(migrations.upgrade, url, "heads", [MIGRATIONS])
        yield url


def probe_features() -> Any:
    return registered_features().with_feature(PROBE_FEATURE)


@pytest_asyncio.fixture
async def client(probe_database: str) -> AsyncIterator[AsyncClient]:
    async with running_client(make_settings(probe_database), probe_features()) as client:
        yield client


async def rows(database_url: str, query: Any) -> list[Any]:
    database = Database(database_url)
    try:
        async with database.engine.connect() as connection:
            return list((await connection.execute(query)).mappings())
    finally:
        await database.dispose()


JOBS_TABLE = cast(sa.Table, JobModel.__table__)
OUTBOX_TABLE = cast(sa.Table, OutboxEventModel.__table__)


async def jobs_of(database_url: str, kind: str) -> list[Any]:
    return await rows(database_url, sa.select(JOBS_TABLE).where(JOBS_TABLE.c.kind == kind))


async def effects(database_url: str) -> list[Any]:
    return await rows(database_url, sa.select(effects_table))


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 20.0) -> None:
    """Wait until `check` holds (jobs run in the background), failing after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


async def all_in(database_url: str, kind: str, status: str, count: int) -> bool:
    found = await jobs_of(database_url, kind)
    return len(found) == count and all(row["status"] == status for row in found)


async def test_a_committed_job_runs_once_and_a_rolled_back_one_never(
    client: AsyncClient, probe_database: str
) -> None:
    refused = await client.post(PROBE, json={"kind": "probe.record", "count": 3, "roll_back": True})
    made = await client.post(PROBE, json={"kind": "probe.record", "count": 5})

    assert refused.status_code == 422
    assert made.status_code == 202, made.text
    ids = {UUID(job_id) for job_id in made.json()["ids"]}
    await eventually(lambda: all_in(probe_database, "probe.record", "succeeded", 5))
    made_effects = await effects(probe_database)
    assert {row["job_id"] for row in made_effects} == ids  # once each, none for the rolled back
    records = await jobs_of(probe_database, "probe.record")
    assert all(row["attempts"] == 1 and row["worker"] is None for row in records)


async def test_a_poison_job_goes_dead_with_its_reason_and_blocks_nothing(
    client: AsyncClient, probe_database: str
) -> None:
    poison = await client.post(PROBE, json={"kind": "probe.fail"})
    healthy = await client.post(PROBE, json={"kind": "probe.record", "count": 2})
    assert poison.status_code == healthy.status_code == 202

    await eventually(lambda: all_in(probe_database, "probe.fail", "dead", 1))
    await eventually(lambda: all_in(probe_database, "probe.record", "succeeded", 2))
    [dead] = await jobs_of(probe_database, "probe.fail")
    assert dead["attempts"] == dead["max_attempts"] == 3
    assert dead["last_error"] == "ValueError: poison: this job always fails"
    failed = await rows(
        probe_database, sa.select(OUTBOX_TABLE.c.payload).where(OUTBOX_TABLE.c.name == "JobFailed")
    )
    assert [json.loads(row["payload"]) for row in failed] == [
        {"job_id": str(dead["id"]), "kind": "probe.fail", "attempts": 3, "error_type": "ValueError"}
    ]
    metrics = (await client.get("/metrics")).text
    assert 'strata_jobs_finished_total{kind="probe.fail",outcome="dead"} 1.0' in metrics
    assert 'strata_job_retries_total{kind="probe.fail"} 2.0' in metrics
    assert 'strata_jobs_finished_total{kind="probe.record",outcome="succeeded"} 2.0' in metrics
    assert (
        'strata_jobs{kind="probe.fail",status="dead"} 1.0' in metrics or "strata_jobs{" in metrics
    )
    assert 'strata_events_published_total{event="JobQueued"}' in metrics
    assert 'strata_events_published_total{event="JobFailed"} 1.0' in metrics
    assert 'strata_events_handled_total{handler="job.send",outcome="handled"}' in metrics
    assert "strata_outbox_lag_seconds" in metrics

    async def dead_job_counted() -> bool:  # the sweeper reports the queue depth every second
        scraped = (await client.get("/metrics")).text
        return 'strata_jobs{kind="probe.fail",status="dead"} 1.0' in scraped

    await eventually(dead_job_counted, seconds=10)


async def test_administrators_list_show_retry_and_cancel_jobs(
    client: AsyncClient, probe_database: str
) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    user = await account(client, "jobs-user@example.com")
    await client.post(PROBE, json={"kind": "probe.fail"})
    await client.post(PROBE, json={"kind": "probe.record", "count": 3})
    await eventually(lambda: all_in(probe_database, "probe.fail", "dead", 1))
    await eventually(lambda: all_in(probe_database, "probe.record", "succeeded", 3))

    dead = await client.get(JOBS, params={"status": "dead"}, headers=admin)
    assert dead.status_code == 200
    [dead_job] = dead.json()["items"]
    assert dead_job["kind"] == "probe.fail"
    first_page = await client.get(JOBS, params={"kind": "probe.record", "limit": 2}, headers=admin)
    cursor = first_page.json()["next_cursor"]
    second_page = await client.get(
        JOBS, params={"kind": "probe.record", "limit": 2, "cursor": cursor}, headers=admin
    )
    listed = [job["id"] for job in first_page.json()["items"] + second_page.json()["items"]]
    assert len(set(listed)) == 3
    assert second_page.json()["next_cursor"] is None
    assert listed == sorted(listed, reverse=True)  # newest first

    shown = await client.get(f"{JOBS}/{dead_job['id']}", headers=admin)
    assert shown.json()["last_error"] == "ValueError: poison: this job always fails"

    retried = await client.post(f"{JOBS}/{dead_job['id']}/retry", headers=admin)
    assert retried.status_code == 202
    assert retried.json()["attempts"] == 0
    await eventually(lambda: all_in(probe_database, "probe.fail", "dead", 1))
    [again] = await jobs_of(probe_database, "probe.fail")
    assert again["attempts"] == 3  # ran its three fresh attempts

    succeeded_id = listed[0]
    not_retryable = await client.post(f"{JOBS}/{succeeded_id}/retry", headers=admin)
    not_cancelable = await client.post(f"{JOBS}/{succeeded_id}/cancel", headers=admin)
    assert not_retryable.status_code == not_cancelable.status_code == 409
    assert not_retryable.json()["code"] == "job.not_retryable"
    assert not_cancelable.json()["code"] == "job.not_cancelable"

    # Everyone else: not for them, and bad input is a clean 4xx.
    assert (await client.get(JOBS, headers=user)).status_code == 403
    assert (await client.get(JOBS)).status_code == 401
    assert (await client.post(f"{JOBS}/{dead_job['id']}/retry", headers=user)).status_code == 403
    unknown = await client.get(f"{JOBS}/{UUID(int=1)}", headers=admin)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "job.not_found"
    assert (await client.get(f"{JOBS}/not-a-uuid", headers=admin)).status_code == 422
    assert (await client.get(JOBS, params={"status": "sleeping"}, headers=admin)).status_code == 422
    assert (await client.get(JOBS, params={"kind": "DROP TABLE"}, headers=admin)).status_code == 422
    bad_cursor = await client.get(JOBS, params={"cursor": "garbage"}, headers=admin)
    assert bad_cursor.status_code == 400


async def test_a_queued_job_can_be_canceled_and_then_never_runs(
    client: AsyncClient, probe_database: str
) -> None:
    admin = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    job = await store_job(
        probe_database, status=JobStatus.QUEUED, run_after=datetime(2999, 1, 1, tzinfo=UTC)
    )

    canceled = await client.post(f"{JOBS}/{job.id}/cancel", headers=admin)

    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    [row] = [r for r in await jobs_of(probe_database, "probe.record") if r["id"] == job.id]
    assert row["status"] == "canceled"
    assert row["finished_at"] is not None
    assert await effects(probe_database) == []


async def store_job(database_url: str, **changes: Any) -> Job:
    job = Job.create(kind="probe.record", payload={}, now=datetime.now(UTC), max_attempts=3)
    for name, value in changes.items():
        setattr(job, name, value)
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await SqlAlchemyJobRepository(connection).add(job)
    finally:
        await database.dispose()
    return job


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def test_jobs_a_crash_left_running_or_queued_are_resumed_at_start_up(
    probe_database: str,
) -> None:
    host = worker_identity().split("/")[0]
    crashed = await store_job(
        probe_database,
        status=JobStatus.RUNNING,
        attempts=1,
        worker=f"{host}/{dead_pid()}/deadbeef",
        lease_expires_at=datetime(2999, 1, 1, tzinfo=UTC),  # no waiting for the lease
    )
    never_sent = await store_job(probe_database)

    async with running_client(make_settings(probe_database), probe_features()):
        await eventually(lambda: all_in(probe_database, "probe.record", "succeeded", 2))

    by_id = {row["id"]: row for row in await jobs_of(probe_database, "probe.record")}
    assert by_id[crashed.id]["attempts"] == 2  # the crashed attempt counts
    assert by_id[never_sent.id]["attempts"] == 1
    assert {row["job_id"] for row in await effects(probe_database)} == {crashed.id, never_sent.id}


async def test_periodic_jobs_are_made_once_per_period_however_many_processes_run(
    probe_database: str,
) -> None:
    settings = make_settings(probe_database)
    async with (
        running_client(settings, probe_features()),
        running_client(settings, probe_features()),
    ):
        await eventually(lambda: periodic_jobs_succeeded(probe_database))
        await asyncio.sleep(1.5)  # more sweeps of both schedulers, in the same periods

    made = await rows(probe_database, sa.select(JOBS_TABLE.c.kind, JOBS_TABLE.c.dedupe_key))
    periodic = [row for row in made if row["kind"] in PERIODIC_KINDS]
    assert sorted(row["kind"] for row in periodic) == sorted(PERIODIC_KINDS)


async def periodic_jobs_succeeded(database_url: str) -> bool:
    made = await rows(database_url, sa.select(JOBS_TABLE.c.kind, JOBS_TABLE.c.status))
    done = {row["kind"] for row in made if row["status"] == "succeeded"}
    return done >= PERIODIC_KINDS
