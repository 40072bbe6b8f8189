"""The databases the pipelines pass measures on: each created on the bundled PostgreSQL (or a
SQLite file) and migrated to head, with one owner of every chunk (a user, a resource and its
file) and runs of that owner's file, written through the production repositories. Search is
built as the API builds it, on the read engine."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from app.application.use_cases.pipeline.search_chunks import SearchChunks
from app.domain.entities.pipeline import MediaKind, PipelineRun, StepName
from app.domain.entities.resource import Resource, StoredFile
from app.domain.entities.user import User
from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.pipeline import (
    SqlAlchemyChunkRepository,
    SqlAlchemyPipelineRunRepository,
    SqlVectorIndex,
)
from app.infrastructure.repositories.resource import (
    SqlAlchemyResourceFileRepository,
    SqlAlchemyResourceRepository,
)
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from bench.pipelines.embedding import KnownVectors
from tests.pgvector_server import EmbeddedPostgres

# The repositories of PipelineUnitOfWork that search and the embed and index steps use.
_REPOSITORIES = {
    "pipeline_runs": SqlAlchemyPipelineRunRepository,
    "pipeline_chunks": SqlAlchemyChunkRepository,
    "chunk_vectors": SqlVectorIndex,
}


async def create_database(server: EmbeddedPostgres, purpose: str) -> str:
    name = f"strata_bench_{purpose}_{secrets.token_hex(3)}"
    connection = await asyncpg.connect(dsn(server.url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server.url.rsplit('/', 1)[0]}/{name}"


def dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def migrated(url: str) -> Database:
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    return Database(url)


async def execute_on_postgres(database: Database, statement: str) -> None:
    connection = await asyncpg.connect(dsn(database.url))  # autocommit: VACUUM needs it
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def write_uow(database: Database) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(
        database.engine,
        _REPOSITORIES,
        write_gate=database.write_gate,
        gate_timeout=database.write_gate_timeout,
    )


def search_on_read_engine(database: Database, embedder: KnownVectors) -> SearchChunks:
    # As the API builds it: the read engine (read-only connections in autocommit).
    uow = SqlAlchemyUnitOfWork(database.read_engine, _REPOSITORIES)
    return SearchChunks(uow, _OwnersOwn(), embedder)


class _OwnersOwn:
    """The `AccessPolicy` here: a user may read what is theirs (the default policy's answer for
    a user's own chunks; Casbin's cost is not what this pass measures)."""

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        return owner_id == user.id

    async def refresh(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Owner:
    user: User
    resource: Resource
    file: StoredFile


async def create_owner(database: Database) -> Owner:
    """The one owner of every chunk of a database: a user, a resource and its file."""
    now = datetime.now(UTC)
    user = User.register(
        email="bench@example.com", password_hash=secrets.token_hex(32), full_name=None, now=now
    )
    resource = Resource.create(owner_id=user.id, name="bench", description="", now=now)
    file_id = UUID(int=secrets.randbits(128))
    stored = StoredFile(
        id=file_id,
        resource_id=resource.id,
        owner_id=user.id,
        filename="passages.txt",
        content_type="text/plain",
        size=0,
        sha256="0" * 64,
        key_id="unused",
        wrapped_key=b"unused",
        storage_key=f"bench/{file_id.hex}",
        created_at=now,
    )
    async with database.engine.connect() as connection:
        await SqlAlchemyUserRepository(connection).add(user)
        await SqlAlchemyResourceRepository(connection).add(resource)
        await SqlAlchemyResourceFileRepository(connection).add(stored)
        await connection.commit()
    return Owner(user, resource, stored)


async def new_run(database: Database, owner: Owner, *, up_to: StepName) -> PipelineRun:
    """A text file's run whose steps before `up_to` are done and `up_to` is running."""
    now = datetime.now(UTC)
    run = PipelineRun.create(
        owner_id=owner.user.id,
        resource_id=owner.resource.id,
        file_id=owner.file.id,
        media_type="text/plain",
        kind=MediaKind.DOCUMENT,
        requested_steps=None,
        now=now,
    )
    while (step := run.next_step()) is not None and step.name is not up_to:
        run.start_step(step.name, now)
        run.finish_step(step.name, now)
    run.start_step(up_to, now)
    async with database.engine.connect() as connection:
        await SqlAlchemyPipelineRunRepository(connection).add(run)
        await connection.commit()
    return run
