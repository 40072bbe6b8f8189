"""The synthetic corpus loaded into a database in bulk, as runs of one owner's file published by
the chunk repository, and pgvector's HNSW index built over the loaded rows."""

from __future__ import annotations

import struct
import time
from collections.abc import Sequence
from typing import Any, cast
from uuid import UUID

import asyncpg
from sqlalchemy import Table, insert, text

from app.domain.entities.pipeline import PipelineRun, StepName
from app.infrastructure.adapters.embedding.minilm import MINILM
from app.infrastructure.database.engine import Database
from app.infrastructure.models.pipeline import PipelineChunkModel
from app.infrastructure.repositories.pipeline.vectors import hnsw_index_name, prepare_vector_index
from bench.pipelines.corpus import Floats, SyntheticCorpus
from bench.pipelines.databases import Owner, dsn, execute_on_postgres, new_run, write_uow
from bench.pipelines.parameters import RUN_CHUNKS

_chunks = cast(Table, PipelineChunkModel.__table__)
_COPY_COLUMNS = (
    "run_id",
    "seq",
    "owner_id",
    "resource_id",
    "file_id",
    "text",
    "start_offset",
    "end_offset",
    "model",
    "dimension",
    "embedding",
    "searchable",
)


async def load(
    database: Database,
    owner: Owner,
    corpus: SyntheticCorpus,
    first: int,
    last: int,
    *,
    pgvector: bool,
) -> dict[UUID, int]:
    """Chunks [first, last) of the corpus as runs of RUN_CHUNKS, inserted in bulk (executemany
    on SQLite, COPY on PostgreSQL), then published by the chunk repository; each run's first
    place in the corpus."""
    run_starts: dict[UUID, int] = {}
    for start in range(first, last, RUN_CHUNKS):
        run = await new_run(database, owner, up_to=StepName.INDEX)
        run_starts[run.id] = start
        rows = [
            _row(run, seq, corpus, position)
            for seq, position in enumerate(range(start, min(start + RUN_CHUNKS, last)))
        ]
        if database.is_sqlite:
            async with database.engine.connect() as connection:
                await connection.execute(insert(_chunks), rows)
                await connection.commit()
        else:
            await _copy(database, rows, corpus, pgvector=pgvector, first=start)
        async with write_uow(database) as uow:
            await uow.pipeline_chunks.publish(run.id)
            await uow.commit()
    if not database.is_sqlite:
        await execute_on_postgres(database, "VACUUM ANALYZE pipeline_chunks")
    return run_starts


def _row(run: PipelineRun, seq: int, corpus: SyntheticCorpus, position: int) -> dict[str, Any]:
    chunk_text = corpus.texts[position]
    return {
        "run_id": run.id,
        "seq": seq,
        "owner_id": run.owner_id,
        "resource_id": run.resource_id,
        "file_id": run.file_id,
        "text": chunk_text,
        "start_offset": 0,
        "end_offset": len(chunk_text),
        "model": MINILM.name,
        "dimension": MINILM.dimension,
        "embedding": corpus.vectors[position].astype("<f4").tobytes(),
        "searchable": False,
    }


async def _copy(
    database: Database,
    rows: Sequence[dict[str, Any]],
    corpus: SyntheticCorpus,
    *,
    pgvector: bool,
    first: int,
) -> None:
    columns = [*_COPY_COLUMNS, *(["embedding_vector"] if pgvector else [])]
    records = [
        tuple(row[name] for name in _COPY_COLUMNS)
        + ((corpus.vectors[first + n],) if pgvector else ())
        for n, row in enumerate(rows)
    ]
    connection = await asyncpg.connect(dsn(database.url))
    try:
        if pgvector:
            await connection.set_type_codec(
                "vector", schema="public", encoder=_vector_binary, decoder=bytes, format="binary"
            )
        await connection.copy_records_to_table("pipeline_chunks", records=records, columns=columns)
    finally:
        await connection.close()


def _vector_binary(vector: Floats) -> bytes:
    """pgvector's binary form: dimensions and a reserved word (int16 each), then big-endian
    float32s."""
    return struct.pack(">HH", len(vector), 0) + vector.astype(">f4").tobytes()


async def build_hnsw(database: Database) -> float:
    """The HNSW index built over every row by `prepare_vector_index`, as at start-up over
    existing chunks (a bulk build: inserting 100,000 rows into a live index is far slower)."""
    async with database.engine.connect() as connection:
        await connection.execute(text("SET maintenance_work_mem = '1GB'"))
        started = time.perf_counter()
        await prepare_vector_index(connection, MINILM)
        await connection.commit()
    built = time.perf_counter() - started
    await execute_on_postgres(database, "ANALYZE pipeline_chunks")
    return built


async def index_scans(database: Database) -> int:
    connection = await asyncpg.connect(dsn(database.url))
    try:
        scans = await connection.fetchval(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1",
            hnsw_index_name(MINILM),
        )
    finally:
        await connection.close()
    return int(scans or 0)
