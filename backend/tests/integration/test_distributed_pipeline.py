"""A pipeline run across real processes: the API starts it, `strata worker`s run its steps (Redis
Streams, a shared database). A worker killed in the middle of `embed` leaves what it embedded;
the worker that takes the step over embeds only the rest, and the run ends with each chunk once.

Uses Redis database 12 like the other multi-process tests (flushed before and after).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import sqlalchemy as sa
from redis.asyncio import Redis

from app.infrastructure.models.pipeline import PipelineChunkModel
from tests.e2e.conftest import USER_PASSWORD
from tests.integration.test_distributed_jobs import (  # the fixtures too: same cluster set-up
    _only_with_redis,  # noqa: F401
    cluster,
    count,
    database_url,  # noqa: F401
    eventually,
    redis,  # noqa: F401
    rows,
)

CHUNKS = cast(sa.Table, PipelineChunkModel.__table__)
# Many small chunks, embedded one at a time: the embed step lasts long enough to be killed in.
SENTENCES = 240
TEXT = " ".join(
    f"Sentence number {n} tells of the {['harbour', 'orchard', 'glacier', 'market'][n % 4]} "
    f"and the {['lantern', 'violin', 'compass', 'kettle'][n % 4]} found there."
    for n in range(SENTENCES)
)


async def signed_in(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    registered = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": USER_PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    login = await client.post(
        "/api/v1/auth/login", data={"username": email, "password": USER_PASSWORD}
    )
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def start_run(client: httpx.AsyncClient, headers: dict[str, str]) -> str:
    resource = await client.post("/api/v1/resources", json={"name": "notes"}, headers=headers)
    uploaded = await client.post(
        f"/api/v1/resources/{resource.json()['id']}/files",
        files={"file": ("notes.txt", TEXT.encode(), "text/plain")},
        headers=headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    started = await client.post(
        "/api/v1/pipelines/runs",
        json={"resource_id": resource.json()["id"], "file_id": uploaded.json()["id"]},
        headers=headers,
    )
    assert started.status_code == 202, started.text
    return str(started.json()["run_id"])


async def embedded(url: str) -> int:
    return await count(url, sa.select(sa.func.count()).where(CHUNKS.c.embedding.is_not(None)))


# PostgreSQL only: distributed is its production set-up (the embedded default runs on both
# databases in tests/e2e), and multi-process cases are the suite's slowest.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_worker_killed_during_embed_is_taken_over_without_duplicate_chunks(
    database_url: str,  # noqa: F811
    redis: Redis,  # noqa: F811
    tmp_path: Path,
) -> None:
    settings = {
        "FEATURES__JOB__CONCURRENCY": "1",
        "FEATURES__PIPELINE__EMBEDDING_BATCH_SIZE": "1",
        "FEATURES__PIPELINE__CHUNK_MAX_TOKENS": "16",
        "FEATURES__PIPELINE__CHUNK_OVERLAP_TOKENS": "0",
        # The dead worker's hold on the step lapses after 5 s rather than production's minute.
        "FEATURES__PIPELINE__STEP_HOLD_SECONDS": "5",
    }
    with cluster(database_url, tmp_path, **settings) as running:
        api = await running.start_api()
        doomed = running.start_worker()
        async with httpx.AsyncClient(base_url=api, timeout=60) as client:
            headers = await signed_in(client, "alice@example.com")
            run_id = await start_run(client, headers)

            async def half_way() -> bool:
                return await embedded(database_url) >= 5

            await eventually(half_way, seconds=120)
            doomed.send_signal(signal.SIGKILL)
            doomed.wait()
            kept = await embedded(database_url)
            total = await count(database_url, sa.select(sa.func.count()).select_from(CHUNKS))
            assert 0 < kept < total  # killed in the middle, with work done and work left

            running.start_worker()

            async def finished() -> bool:
                run = (await client.get(f"/api/v1/pipelines/runs/{run_id}", headers=headers)).json()
                return bool(run["status"] == "succeeded")

            await eventually(finished, seconds=180)
            run = (await client.get(f"/api/v1/pipelines/runs/{run_id}", headers=headers)).json()
            search = await client.get(
                "/api/v1/search", params={"q": "glacier compass"}, headers=headers
            )

    embed = next(step for step in run["steps"] if step["name"] == "embed")
    assert embed["attempts"] == 2
    chunks: list[Any] = await rows(
        database_url, sa.select(CHUNKS.c.seq, CHUNKS.c.embedding, CHUNKS.c.searchable)
    )
    assert sorted(row["seq"] for row in chunks) == list(range(total))  # each chunk once
    assert all(row["embedding"] is not None and row["searchable"] for row in chunks)
    assert search.status_code == 200
    assert "glacier" in search.json()["items"][0]["text"]
