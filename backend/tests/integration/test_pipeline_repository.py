"""The pipeline's repositories and vector index on real databases: SQLite (FTS5, exact scan),
PostgreSQL without pgvector (full-text search, exact scan) and PostgreSQL with pgvector (HNSW)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.pipeline import EmbeddingModel
from app.domain.entities.pipeline import (
    Chunk,
    MediaKind,
    PipelineArtifact,
    PipelineRun,
    StepName,
)
from app.domain.entities.resource import StoredFile
from app.domain.entities.user import User
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.pipeline import (
    SqlAlchemyChunkRepository,
    SqlAlchemyPipelineArtifactRepository,
    SqlAlchemyPipelineRunRepository,
)
from app.infrastructure.repositories.pipeline.vectors import (
    EXACT,
    PGVECTOR_HNSW,
    SqlVectorIndex,
    forget_vector_index_choice,
    hnsw_index_name,
    prepare_vector_index,
)
from app.infrastructure.repositories.resource import SqlAlchemyResourceFileRepository
from tests.databases import PGVECTOR, fresh_database
from tests.fakes import DEFAULT_NOW
from tests.integration.stored import stored_user
from tests.integration.test_resource_repository import stored_file, stored_resource

MODEL = EmbeddingModel("sentence-transformers/all-MiniLM-L6-v2", 384)
OTHER_MODEL = EmbeddingModel("another/model", 384)


# Also on PostgreSQL with pgvector: search through its HNSW index.
pytestmark = pytest.mark.vector_search


@pytest_asyncio.fixture(scope="session")
async def vector_index_prepared(database_url: str) -> str:
    """The session database as the app's start-up leaves it (pgvector set up where it can be)."""
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            return await prepare_vector_index(connection, MODEL)
    finally:
        await database.dispose()


@pytest_asyncio.fixture
async def prepared(vector_index_prepared: str, connection: AsyncConnection) -> AsyncConnection:
    return connection


def unit(values: np.ndarray) -> list[float]:
    return [float(v) for v in values / np.linalg.norm(values)]


def direction(index: int, dimension: int = 384) -> list[float]:
    """Well separated unit vectors: mostly along axis `index`, a little along the next."""
    values = np.zeros(dimension, dtype=np.float64)
    values[index] = 1.0
    values[(index + 1) % dimension] = 0.1
    return unit(values)


async def stored_run(connection: AsyncConnection, owner: User) -> tuple[PipelineRun, StoredFile]:
    resource = await stored_resource(connection, owner)
    stored = await stored_file(connection, resource)
    run = PipelineRun.create(
        owner_id=owner.id,
        resource_id=resource.id,
        file_id=stored.id,
        media_type="text/plain",
        kind=MediaKind.DOCUMENT,
        requested_steps=None,
        now=DEFAULT_NOW,
    )
    await SqlAlchemyPipelineRunRepository(connection).add(run)
    return run, stored


def chunks_of(run: PipelineRun, texts: list[str]) -> list[Chunk]:
    chunks, start = [], 0
    for seq, piece in enumerate(texts):
        chunks.append(
            Chunk(
                run_id=run.id,
                seq=seq,
                owner_id=run.owner_id,
                resource_id=run.resource_id,
                file_id=run.file_id,
                text=piece,
                start=start,
                end=start + len(piece),
            )
        )
        start += len(piece) + 1
    return chunks


async def indexed(
    connection: AsyncConnection, run: PipelineRun, texts: list[str], first_direction: int = 0
) -> list[Chunk]:
    """The texts stored as the run's chunks, embedded along separate directions, published."""
    chunks = SqlAlchemyChunkRepository(connection)
    pieces = chunks_of(run, texts)
    await chunks.add_if_absent(pieces)
    await chunks.set_embeddings(
        run.id,
        MODEL,
        [(chunk.seq, direction(first_direction + chunk.seq)) for chunk in pieces],
    )
    await chunks.publish(run.id)
    return pieces


# ------------------------------------------------------------------------------------- runs
async def test_a_run_round_trips_and_every_change_is_kept_for_its_stream(
    prepared: AsyncConnection,
) -> None:
    alice = await stored_user(prepared)
    run, stored = await stored_run(prepared, alice)
    runs = SqlAlchemyPipelineRunRepository(prepared)
    changed = await runs.get(run.id)
    assert changed == run

    changed.start_step(StepName.EXTRACT, DEFAULT_NOW)
    assert await runs.update(changed, expected_version=run.version) is True
    assert await runs.update(changed, expected_version=run.version) is False  # stale
    stage = await runs.get(run.id)
    assert stage == changed

    history = await runs.changes_after(run.id, 0)
    assert [r.version for r in history] == [run.version, changed.version]
    assert history[0] == run
    assert history[1] == changed
    assert await runs.changes_after(run.id, changed.version) == []
    assert [r.id for r in await runs.list_for_file(stored.id)] == [run.id]
    assert [r.id for r in await runs.list_for_resource(stored.resource_id)] == [run.id]
    assert [r.id for r in await runs.list_page(owner_id=alice.id, after=None, limit=5)] == [run.id]
    assert await runs.list_page(owner_id=new_id(), after=None, limit=5) == []
    assert await runs.delete_by_owner(alice.id) == 1
    assert await runs.get(run.id) is None


async def test_one_artifact_per_run_and_step(prepared: AsyncConnection) -> None:
    alice = await stored_user(prepared)
    run, _ = await stored_run(prepared, alice)
    artifacts = SqlAlchemyPipelineArtifactRepository(prepared)
    artifact = PipelineArtifact(
        id=new_id(),
        run_id=run.id,
        owner_id=alice.id,
        step=StepName.EXTRACT,
        kind="text",
        summary={"characters": 12},
        created_at=DEFAULT_NOW,
        size=12,
        sha256="ab" * 32,
        key_id="k1",
        wrapped_key=b"\x00\x01",
        storage_key="ab/abcdef",
    )

    assert await artifacts.add_if_absent(artifact) is True
    assert await artifacts.add_if_absent(replace(artifact, id=new_id())) is False
    assert await artifacts.list_for_run(run.id) == [artifact]
    assert await artifacts.list_by_owner(alice.id) == [artifact]
    assert await artifacts.delete_for_runs([run.id]) == [artifact]
    assert await artifacts.list_for_run(run.id) == []
    assert await artifacts.delete_for_runs([]) == []


# ----------------------------------------------------------------------------------- chunks
async def test_chunks_are_stored_once_and_embedded_by_model(prepared: AsyncConnection) -> None:
    alice = await stored_user(prepared)
    run, _ = await stored_run(prepared, alice)
    chunks = SqlAlchemyChunkRepository(prepared)
    pieces = chunks_of(run, ["one", "two", "three"])

    assert await chunks.add_if_absent(pieces) == 3
    assert await chunks.add_if_absent([*pieces, *chunks_of(run, ["x"] * 4)[3:]]) == 1
    assert [c.seq for c in await chunks.list_for_run(run.id)] == [0, 1, 2, 3]
    await chunks.set_embeddings(run.id, MODEL, [(0, direction(0)), (1, direction(1))])
    assert [c.seq for c in await chunks.without_embedding(run.id, MODEL)] == [2, 3]
    assert len(await chunks.without_embedding(run.id, OTHER_MODEL)) == 4
    assert await chunks.runs_embedded_with_other_models(OTHER_MODEL, limit=10) == [run.id]
    assert await chunks.runs_embedded_with_other_models(MODEL, limit=10) == []

    assert await chunks.publish(run.id) == 2  # only the embedded ones become searchable
    assert await chunks.delete_for_runs([run.id]) == 4
    assert await chunks.list_for_run(run.id) == []


async def test_keyword_search_finds_any_word_stemmed_only_the_owners_published_chunks(
    prepared: AsyncConnection,
) -> None:
    alice = await stored_user(prepared, "alice@example.com")
    bob = await stored_user(prepared, "bob@example.com")
    run, _ = await stored_run(prepared, alice)
    other, _ = await stored_run(prepared, alice)
    bobs, _ = await stored_run(prepared, bob)
    await indexed(
        prepared,
        run,
        ["Humpback whales migrate every year.", "Bake the cake for forty minutes."],
    )
    await indexed(prepared, other, ["A whale sang at dawn."], first_direction=10)
    await indexed(prepared, bobs, ["Whales everywhere."], first_direction=20)
    unpublished = SqlAlchemyChunkRepository(prepared)
    hidden, _ = await stored_run(prepared, alice)
    await unpublished.add_if_absent(chunks_of(hidden, ["whales not yet indexed"]))
    chunks = SqlAlchemyChunkRepository(prepared)

    hits = await chunks.keyword_search(alice.id, "whale", limit=10, resource_id=None)
    assert {hit.chunk.text for hit in hits} == {
        "Humpback whales migrate every year.",
        "A whale sang at dawn.",
    }
    assert all(hit.score > 0 for hit in hits)
    narrowed = await chunks.keyword_search(
        alice.id, "whales cake", limit=10, resource_id=other.resource_id
    )
    assert [hit.chunk.text for hit in narrowed] == ["A whale sang at dawn."]
    either = await chunks.keyword_search(alice.id, "cake OR nothing", limit=10, resource_id=None)
    assert [hit.chunk.text for hit in either] == ["Bake the cake for forty minutes."]
    assert (await chunks.keyword_search(alice.id, "whales", limit=1, resource_id=None))[0]
    for odd in ('"', "NEAR(", "*", "a:b", "'; --", "!!!", "the of and"):
        await chunks.keyword_search(alice.id, odd, limit=5, resource_id=None)  # never raises
    assert await chunks.keyword_search(alice.id, "...", limit=5, resource_id=None) == []


async def test_deleting_a_file_takes_its_chunks_out_of_every_index(
    prepared: AsyncConnection,
) -> None:
    alice = await stored_user(prepared)
    run, stored = await stored_run(prepared, alice)
    await indexed(prepared, run, ["Volcanoes erupt lava."])
    chunks = SqlAlchemyChunkRepository(prepared)
    vectors = SqlVectorIndex(prepared)
    assert await chunks.keyword_search(alice.id, "volcanoes", limit=5, resource_id=None)

    await SqlAlchemyResourceFileRepository(prepared).delete(stored.id)

    assert await chunks.list_for_run(run.id) == []
    assert await chunks.keyword_search(alice.id, "volcanoes", limit=5, resource_id=None) == []
    assert await vectors.nearest(alice.id, MODEL, direction(0), limit=5, resource_id=None) == []
    if prepared.dialect.name == "sqlite":
        left = await prepared.execute(text("SELECT count(*) FROM pipeline_chunks_fts"))
        assert left.scalar_one() == 0


# ---------------------------------------------------------------------------- vector index
async def test_nearest_ranks_by_cosine_within_the_owner_and_the_model(
    prepared: AsyncConnection, backend: str
) -> None:
    alice = await stored_user(prepared, "alice@example.com")
    bob = await stored_user(prepared, "bob@example.com")
    run, _ = await stored_run(prepared, alice)
    other, _ = await stored_run(prepared, alice)
    bobs, _ = await stored_run(prepared, bob)
    await indexed(prepared, run, [f"chunk {n}" for n in range(6)])
    await indexed(prepared, other, ["elsewhere"], first_direction=3)
    await indexed(prepared, bobs, ["bob's"], first_direction=2)
    vectors = SqlVectorIndex(prepared)

    assert await vectors.name() == (PGVECTOR_HNSW if backend == PGVECTOR else EXACT)
    hits = await vectors.nearest(alice.id, MODEL, direction(2), limit=3, resource_id=None)
    assert hits[0].chunk.text == "chunk 2"
    assert hits[0].score == pytest.approx(1.0, abs=1e-5)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    assert all(hit.chunk.owner_id == alice.id for hit in hits)
    assert len(hits) == 3
    narrowed = await vectors.nearest(
        alice.id, MODEL, direction(3), limit=5, resource_id=other.resource_id
    )
    assert [hit.chunk.text for hit in narrowed] == ["elsewhere"]
    assert (
        await vectors.nearest(alice.id, OTHER_MODEL, direction(2), limit=3, resource_id=None) == []
    )
    assert await vectors.nearest(new_id(), MODEL, direction(2), limit=3, resource_id=None) == []


@pytest.mark.parametrize("backend", [PGVECTOR], indirect=True)  # the only one with HNSW
async def test_hnsw_finds_what_the_exact_scan_finds_on_clustered_vectors(
    prepared: AsyncConnection,
) -> None:
    alice = await stored_user(prepared)
    run, _ = await stored_run(prepared, alice)
    generator = np.random.default_rng(7)
    centres = generator.normal(size=(20, 384))
    points = [unit(centres[n % 20] + 0.3 * generator.normal(size=384)) for n in range(400)]
    chunks = SqlAlchemyChunkRepository(prepared)
    await chunks.add_if_absent(chunks_of(run, [f"point {n}" for n in range(400)]))
    await chunks.set_embeddings(run.id, MODEL, list(enumerate(points)))
    await chunks.publish(run.id)
    matrix = np.asarray(points)
    plan = await prepared.execute(
        text(
            "EXPLAIN SELECT id FROM pipeline_chunks WHERE model = :model ORDER BY "
            "embedding_vector::vector(384) <=> CAST(:q AS vector(384)) LIMIT 10"
        ),
        {"model": MODEL.name, "q": str(points[0])},
    )
    assert hnsw_index_name(MODEL) in "\n".join(plan.scalars())

    recalls = []
    for query_index in range(0, 400, 40):
        query = unit(centres[query_index % 20] + 0.3 * generator.normal(size=384))
        exact = set(np.argsort(-(matrix @ np.asarray(query)))[:10].tolist())
        hits = await SqlVectorIndex(prepared).nearest(
            alice.id, MODEL, query, limit=10, resource_id=None
        )
        found = {int(hit.chunk.text.split()[1]) for hit in hits}
        recalls.append(len(found & exact) / 10)
    assert np.mean(recalls) >= 0.9


async def test_prepare_sets_pgvector_up_once_and_fills_vectors_stored_before(
    pgvector_postgres_url: str, tmp_path: Path
) -> None:
    async with fresh_database("postgresql", tmp_path, admin_url=pgvector_postgres_url) as url:
        database = Database(url)
        try:
            async with database.engine.begin() as connection:
                alice = await stored_user(connection)
                run, _ = await stored_run(connection, alice)
                await indexed(connection, run, ["stored before pgvector"])
            forget_vector_index_choice()
            async with database.engine.begin() as connection:
                assert await SqlVectorIndex(connection).name() == EXACT
                assert await prepare_vector_index(connection, MODEL) == PGVECTOR_HNSW
                assert await prepare_vector_index(connection, MODEL) == PGVECTOR_HNSW
            async with database.engine.connect() as connection:
                assert await SqlVectorIndex(connection).name() == PGVECTOR_HNSW
                filled = await connection.execute(
                    text("SELECT count(*) FROM pipeline_chunks WHERE embedding_vector IS NULL")
                )
                assert filled.scalar_one() == 0
                hits = await SqlVectorIndex(connection).nearest(
                    alice.id, MODEL, direction(0), limit=1, resource_id=None
                )
                assert hits[0].chunk.text == "stored before pgvector"
        finally:
            await database.dispose()
            forget_vector_index_choice()


# Debian's PostgreSQL of the test environment has no pgvector.
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_without_the_extension_postgresql_serves_the_exact_scan(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            assert await prepare_vector_index(connection, MODEL) == EXACT
    finally:
        await database.dispose()


@pytest.mark.parametrize("backend", [PGVECTOR], indirect=True)
async def test_the_hnsw_search_settings_hold_on_a_read_connection(
    database_url: str, vector_index_prepared: str
) -> None:
    """Reads run on autocommit connections (the read engine), where SET LOCAL would be ignored:
    the wider candidate list and the iterative scan must still be in force."""
    database = Database(database_url)
    try:
        async with database.read_engine.connect() as connection:
            await SqlVectorIndex(connection).nearest(
                new_id(), MODEL, direction(0), limit=10, resource_id=None
            )
            ef_search = await connection.execute(text("SHOW hnsw.ef_search"))
            iterative = await connection.execute(text("SHOW hnsw.iterative_scan"))
            assert (ef_search.scalar_one(), iterative.scalar_one()) == ("100", "relaxed_order")
    finally:
        await database.dispose()
