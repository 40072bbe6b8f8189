"""Retrieval quality: the labelled passages indexed as one owner's chunks, one chunk per
passage, then each query ranked by `SearchChunks` in semantic, keyword and hybrid mode: recall@10
and MRR@10, overall and per kind of query."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.domain.entities.pipeline import StepName
from app.domain.entities.user import User
from app.infrastructure.adapters.embedding.minilm import MINILM
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.pipeline.vectors import prepare_vector_index
from bench.pipelines.databases import Owner, new_run, search_on_read_engine, write_uow
from bench.pipelines.embedding import KnownVectors
from bench.pipelines.parameters import MODES, TOP_K
from bench.pipelines.records import ModeQuality, Scores
from bench.pipelines.workspace import chunk_of, passage_pieces
from tests.retrieval_metrics import QUERY_KINDS, recall_at_k, reciprocal_rank


async def index_with_vectors(
    database: Database, owner: Owner, passages: Sequence[Any], vectors: Sequence[list[float]]
) -> None:
    """The same chunks and vectors stored with the chunk repository (the pgvector column filled
    by `set_embeddings`, as the embed step would), then published."""
    async with database.engine.connect() as connection:
        await prepare_vector_index(connection, MINILM)
        await connection.commit()
    run = await new_run(database, owner, up_to=StepName.EMBED)
    whole, pieces = passage_pieces([passage.text for passage in passages])
    chunks = [chunk_of(run, seq, whole, start, end) for seq, (start, end) in enumerate(pieces)]
    async with write_uow(database) as uow:
        await uow.pipeline_chunks.add_if_absent(chunks)
        await uow.pipeline_chunks.set_embeddings(run.id, MINILM, list(enumerate(vectors)))
        await uow.pipeline_chunks.publish(run.id)
        await uow.commit()


async def rank(
    database: Database, user: User, known: KnownVectors, retrieval: Any
) -> dict[str, ModeQuality]:
    search = search_on_read_engine(database, known)
    ids = [passage.id for passage in retrieval.passages]  # by seq: one chunk per passage
    found: dict[str, ModeQuality] = {}
    for mode in MODES:
        scored: list[tuple[str, float, float]] = []
        for query in retrieval.queries:
            hits = await search.execute(user, query.query, limit=TOP_K, mode=mode)
            ranked = [ids[hit.chunk.seq] for hit in hits]
            scored.append(
                (
                    query.kind,
                    recall_at_k(ranked, query.relevant, TOP_K),
                    reciprocal_rank(ranked, query.relevant),
                )
            )
        found[mode.value] = ModeQuality(
            _mean(scored),
            {kind: _mean([s for s in scored if s[0] == kind]) for kind in QUERY_KINDS},
        )
    return found


def _mean(scored: Sequence[tuple[str, float, float]]) -> Scores:
    if not scored:
        return Scores(0.0, 0.0, 0)
    return Scores(
        sum(s[1] for s in scored) / len(scored),
        sum(s[2] for s in scored) / len(scored),
        len(scored),
    )
