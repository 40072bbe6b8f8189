"""Nearest-neighbour search over the chunks' embeddings: pgvector's HNSW index where PostgreSQL
has the `vector` extension, else an exact scan with NumPy.

Every embedding is stored as little-endian float32 bytes (`pipeline_chunks.embedding`), which any
database holds. Where the `vector` extension can be created, `prepare_vector_index` (run at
start-up) adds an `embedding_vector` column of pgvector's type, fills it from the bytes, and
builds an HNSW cosine index for the model in use: an expression index over
`embedding_vector::vector(<dimension>)`, partial on the model's name, since the column itself
holds vectors of any dimension (a change of model adds an index, never mixes spaces).
Whether a database has the column is asked once per database and remembered.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from sqlalchemy import Table, TextClause, TextualSelect, Uuid, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.pipeline import ChunkHit, EmbeddingModel
from app.domain.entities.pipeline import Chunk
from app.infrastructure.models.pipeline import PipelineChunkModel

PGVECTOR_HNSW = "pgvector-hnsw"

if TYPE_CHECKING:
    # NumPy is imported by the functions that use it: the API starts without it.
    import numpy as np
EXACT = "exact"
# Candidates the HNSW search keeps per query (pgvector's default is 40): more is better recall.
HNSW_EF_SEARCH = 100
_FILL_BATCH = 1_000

_chunks = cast(Table, PipelineChunkModel.__table__)
_c = _chunks.c
# What a search hit reads of a chunk (see `chunk_of_row`).
CHUNK_COLUMNS = (
    _c.run_id,
    _c.seq,
    _c.owner_id,
    _c.resource_id,
    _c.file_id,
    _c.text,
    _c.start_offset,
    _c.end_offset,
)
# Per database URL: does it have the `embedding_vector` column (pgvector in use)?
_pgvector_databases: dict[str, bool] = {}


def pack_vector(vector: Sequence[float]) -> bytes:
    import numpy as np  # noqa: PLC0415

    return np.asarray(vector, dtype="<f4").tobytes()


def to_pgvector(vector: Iterable[float]) -> str:
    """pgvector's text form, `[x,y,…]`."""
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"


_UUID_NAMES = ("run_id", "owner_id", "resource_id", "file_id")


def typed_statement(sql: str) -> TextClause | TextualSelect:
    """A textual statement whose ids bind (and, in a SELECT, read) as the Uuid columns do:
    SQLite stores them as 32 hex digits, PostgreSQL as uuid."""
    statement = text(sql)
    used = [name for name in _UUID_NAMES if f":{name}" in sql]
    if used:
        statement = statement.bindparams(*(bindparam(name, type_=Uuid()) for name in used))
    if not sql.startswith("SELECT"):
        return statement
    return statement.columns(**{name: Uuid() for name in _UUID_NAMES})


_HNSW_SETTINGS = text(
    f"SELECT set_config('hnsw.ef_search', '{HNSW_EF_SEARCH}', false), "
    "set_config('hnsw.iterative_scan', 'relaxed_order', false)"
)


@functools.cache
def _hnsw_search(dimension: int, narrowed: bool) -> TextClause | TextualSelect:
    """The HNSW query for vectors of `dimension`, narrowed to a resource or not. Only the
    dimension (an int) and fixed fragments make up its text."""
    vector = f"embedding_vector::vector({dimension})"
    query = f"CAST(:query AS vector({dimension}))"
    return typed_statement(
        "SELECT run_id, seq, owner_id, resource_id, file_id, text, start_offset, end_offset, "  # noqa: S608
        f"{vector} <=> {query} AS distance FROM pipeline_chunks "
        "WHERE owner_id = :owner_id AND searchable AND model = :model "
        + ("AND resource_id = :resource_id " if narrowed else "")
        + f"ORDER BY {vector} <=> {query} LIMIT :limit"
    )


def hnsw_index_name(model: EmbeddingModel) -> str:
    digest = hashlib.sha256(f"{model.name}/{model.dimension}".encode()).hexdigest()[:12]
    return f"ix_pipeline_chunks_hnsw_{digest}"


async def pgvector_ready(connection: AsyncConnection) -> bool:
    """Whether this database keeps pgvector vectors beside the bytes (asked once per database)."""
    if connection.dialect.name != "postgresql":
        return False
    key = connection.engine.url.render_as_string(hide_password=True)
    ready = _pgvector_databases.get(key)
    if ready is None:
        found = await connection.execute(
            text(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'pipeline_chunks' AND column_name = 'embedding_vector'"
            )
        )
        ready = found.first() is not None
        _pgvector_databases[key] = ready
    return ready


def forget_vector_index_choice() -> None:
    """Ask every database again (tests that add or drop the extension)."""
    _pgvector_databases.clear()


async def prepare_vector_index(connection: AsyncConnection, model: EmbeddingModel) -> str:
    """Set pgvector up if this PostgreSQL has it (idempotent; concurrent processes may all run
    it); the name of the index in use: `pgvector-hnsw` or `exact`."""
    if connection.dialect.name != "postgresql":
        return EXACT
    try:
        async with connection.begin_nested():
            await connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    except DBAPIError:
        # Not installed on this server, or we may not create it: the exact scan serves.
        return EXACT
    await connection.execute(
        text("ALTER TABLE pipeline_chunks ADD COLUMN IF NOT EXISTS embedding_vector vector")
    )
    await _fill_vectors(connection)
    await connection.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {hnsw_index_name(model)} ON pipeline_chunks "
            f"USING hnsw ((embedding_vector::vector({int(model.dimension)})) vector_cosine_ops) "
            f"WHERE model = {_sql_literal(model.name)}"
        )
    )
    _pgvector_databases[connection.engine.url.render_as_string(hide_password=True)] = True
    return PGVECTOR_HNSW


async def _fill_vectors(connection: AsyncConnection) -> None:
    """Copy embeddings stored before the extension was there into the pgvector column."""
    missing = (
        select(_c.id, _c.embedding)
        .where(_c.embedding.is_not(None), text("embedding_vector IS NULL"))
        .limit(_FILL_BATCH)
    )
    import numpy as np  # noqa: PLC0415

    while rows := (await connection.execute(missing)).all():
        await connection.execute(
            text(
                "UPDATE pipeline_chunks SET embedding_vector = CAST(:vector AS vector) "
                "WHERE id = :id"
            ),
            [
                {"id": row.id, "vector": to_pgvector(np.frombuffer(row.embedding, dtype="<f4"))}
                for row in rows
            ],
        )


def _sql_literal(value: str) -> str:
    # DDL takes no bound parameters: quote the model's name as a SQL string literal.
    return "'" + value.replace("'", "''") + "'"


class SqlVectorIndex:
    """The `VectorIndex` of the unit of work's connection: HNSW where pgvector is set up."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def name(self) -> str:
        return PGVECTOR_HNSW if await pgvector_ready(self._connection) else EXACT

    async def nearest(
        self,
        owner_id: UUID,
        model: EmbeddingModel,
        vector: Sequence[float],
        *,
        limit: int,
        resource_id: UUID | None,
    ) -> list[ChunkHit]:
        if await pgvector_ready(self._connection):
            return await self._hnsw(owner_id, model, vector, limit, resource_id)
        return await self._exact(owner_id, model, vector, limit, resource_id)

    async def _hnsw(
        self,
        owner_id: UUID,
        model: EmbeddingModel,
        vector: Sequence[float],
        limit: int,
        resource_id: UUID | None,
    ) -> list[ChunkHit]:
        # The owner (and resource) filter applies after the index scan: pgvector 0.8's iterative
        # scan goes on past ef_search candidates until `limit` rows pass it. Set for the session,
        # not SET LOCAL: reads run on autocommit connections, where SET LOCAL is ignored. Every
        # HNSW search of the process wants the same values.
        await self._connection.execute(_HNSW_SETTINGS)
        statement = _hnsw_search(int(model.dimension), resource_id is not None)
        result = await self._connection.execute(
            statement,
            {
                "query": to_pgvector(vector),
                "owner_id": owner_id,
                "resource_id": resource_id,
                "model": model.name,
                "limit": limit,
            },
        )
        # The rows come sorted by the index's order, which "relaxed" may leave slightly off.
        hits = [
            ChunkHit(chunk_of_row(row), 1.0 - float(row["distance"])) for row in result.mappings()
        ]
        return sorted(hits, key=lambda hit: -hit.score)

    async def _exact(
        self,
        owner_id: UUID,
        model: EmbeddingModel,
        vector: Sequence[float],
        limit: int,
        resource_id: UUID | None,
    ) -> list[ChunkHit]:
        statement = select(_c.id, _c.embedding).where(
            _c.owner_id == owner_id, _c.searchable.is_(True), _c.model == model.name
        )
        if resource_id is not None:
            statement = statement.where(_c.resource_id == resource_id)
        rows = (await self._connection.execute(statement)).all()
        if not rows:
            return []
        import numpy as np  # noqa: PLC0415

        ids = np.fromiter((row.id for row in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(b"".join(row.embedding for row in rows), dtype="<f4").reshape(
            len(rows), model.dimension
        )
        scores = matrix @ np.asarray(vector, dtype=np.float32)
        best = _top(scores, limit)
        chosen = {int(ids[i]): float(scores[i]) for i in best}
        found = await self._connection.execute(
            select(_c.id, *CHUNK_COLUMNS).where(_c.id.in_(list(chosen)))
        )
        hits = [ChunkHit(chunk_of_row(row), chosen[row["id"]]) for row in found.mappings()]
        return sorted(hits, key=lambda hit: -hit.score)


def _top(scores: np.ndarray[Any, np.dtype[np.float32]], limit: int) -> list[int]:
    if len(scores) <= limit:
        return list(range(len(scores)))
    import numpy as np  # noqa: PLC0415

    part = np.argpartition(-scores, limit)[:limit]
    return [int(i) for i in part]


def chunk_of_row(row: Any) -> Chunk:
    """A chunk of a row with the chunk columns (the vector index's and the repository's)."""
    return Chunk(
        run_id=row["run_id"],
        seq=row["seq"],
        owner_id=row["owner_id"],
        resource_id=row["resource_id"],
        file_id=row["file_id"],
        text=row["text"],
        start=row["start_offset"],
        end=row["end_offset"],
    )
