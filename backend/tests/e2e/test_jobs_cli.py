"""`strata jobs list|show|retry|cancel` and `strata worker`, on both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from app.domain.entities.job import Job, JobStatus
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.job import SqlAlchemyJobRepository
from app.presentation.cli import cli
from tests.databases import fresh_database

runner = CliRunner()
FAR_FUTURE = datetime(2999, 1, 1, tzinfo=UTC)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read


async def store(url: str, *jobs: Job) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            for job in jobs:
                await SqlAlchemyJobRepository(connection).add(job)
    finally:
        await database.dispose()


def job(kind: str, status: JobStatus, **changes: object) -> Job:
    made = Job.create(kind=kind, payload={"n": 1}, now=datetime.now(UTC), max_attempts=3)
    made.status = status
    for name, value in changes.items():
        setattr(made, name, value)
    return made


async def test_jobs_can_be_listed_shown_retried_and_canceled_from_the_shell(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: None
) -> None:
    older = [job("job.forget_finished", JobStatus.SUCCEEDED) for _ in range(3)]
    dead = job("session.sweep_expired", JobStatus.DEAD, attempts=3, last_error="Boom: it broke")
    waiting = job("event.forget_old", JobStatus.QUEUED, run_after=FAR_FUTURE)  # the newest
    async with fresh_database(backend, tmp_path) as url:
        monkeypatch.setenv("DATABASE_URL", url)
        await store(url, *older, dead, waiting)

        everything = await invoke(["jobs", "list", "--limit", "2"])
        only_dead = await invoke(["jobs", "list", "--status", "dead"])
        shown = await invoke(["jobs", "show", str(dead.id)])
        retried = await invoke(["jobs", "retry", str(dead.id)])
        canceled = await invoke(["jobs", "cancel", str(waiting.id)])
        cancel_again = await invoke(["jobs", "cancel", str(waiting.id)])
        unknown = await invoke(["jobs", "show", "00000000-0000-0000-0000-000000000001"])
        bad_status = await invoke(["jobs", "list", "--status", "sleeping"])
        after = await invoke(["jobs", "list", "--kind", "session.sweep_expired"])

    listed = everything.output.splitlines()
    assert [line.split()[0] for line in listed[:2]] == [str(waiting.id), str(dead.id)]
    assert listed[2].startswith("next page: --cursor ")
    assert [line.split()[0] for line in only_dead.output.splitlines()] == [str(dead.id)]
    assert "Boom: it broke" in only_dead.output
    assert json.loads(shown.output)["last_error"] == "Boom: it broke"
    assert f"job {dead.id} queued again" in retried.output
    assert f"job {waiting.id} canceled" in canceled.output
    assert cancel_again.exit_code == 1
    assert "job.not_cancelable" in cancel_again.output
    assert unknown.exit_code == 1
    assert "job.not_found" in unknown.output
    assert bad_status.exit_code == 2  # refused by the command line, before any database work
    assert " queued " in after.output  # the retried job, waiting for a worker again


async def test_a_worker_without_redis_refuses_to_start_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_env: None
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    result = await invoke(["worker", "--concurrency", "2"])
    assert result.exit_code == 2
    assert "REDIS_URL is not set" in result.output


async def invoke(args: list[str]) -> Result:
    # The commands run their own event loop (asyncio.run): give them a thread of their own.
    return await asyncio.to_thread(runner.invoke, cli, args, catch_exceptions=False)
