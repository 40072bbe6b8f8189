"""Search latency: `SearchChunks` at 10,000 and 100,000 chunks of one owner, on SQLite (exact),
PostgreSQL + pgvector (HNSW) and, at 10,000, PostgreSQL without pgvector (exact); and the
recall@10 of HNSW against a NumPy brute force over the same vectors. The chunks are synthetic
(see `SyntheticCorpus`): embedding 100,000 real texts would take half an hour here."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import numpy as np

from app.application.interfaces.pipeline import ChunkHit
from app.application.use_cases.pipeline.search_chunks import SearchChunks, SearchMode
from app.domain.entities.user import User
from app.infrastructure.adapters.embedding.minilm import MINILM
from app.infrastructure.database.engine import Database
from app.infrastructure.repositories.pipeline.vectors import (
    SqlVectorIndex,
    hnsw_index_name,
    prepare_vector_index,
)
from bench.config import log
from bench.pipelines.corpus import SyntheticCorpus
from bench.pipelines.databases import (
    Owner,
    create_database,
    create_owner,
    execute_on_postgres,
    migrated,
    search_on_read_engine,
)
from bench.pipelines.embedding import KnownVectors
from bench.pipelines.loading import build_hnsw, index_scans, load
from bench.pipelines.parameters import (
    CLUSTERS,
    HNSW_RECALL_QUERIES,
    LATENCY_BUDGET_S,
    LATENCY_CALLS,
    LATENCY_MIN_CALLS,
    SEED,
    SIZES,
    TIMED_MODES,
    TOP_K,
    WARMUP_BUDGET_S,
    WARMUP_CALLS,
)
from bench.pipelines.records import Latency, PipelinesReport
from tests.pgvector_server import EmbeddedPostgres
from tests.retrieval_metrics import load_retrieval_set


@dataclass(frozen=True, slots=True)
class _Workload:
    """What every database of the latency runs is given: the corpus, the timed queries and
    those of the HNSW recall, their vectors, and the query embedding's own times."""

    corpus: SyntheticCorpus
    timed: list[tuple[str, list[float]]]
    recall_queries: list[tuple[str, list[float]]]
    known: KnownVectors
    embed_ms: Sequence[float]


async def latency_passes(
    report: PipelinesReport, server: EmbeddedPostgres, workdir: Path, embed_ms: Sequence[float]
) -> None:
    rng = np.random.default_rng(SEED)
    log(f"[pipelines] latency: {SIZES[-1]:,} synthetic chunks in {CLUSTERS:,} clusters")
    retrieval = load_retrieval_set()
    corpus = SyntheticCorpus.build(SIZES[-1], [p.text for p in retrieval.passages], rng)
    timed = corpus.queries(LATENCY_CALLS, rng)
    recall_queries = corpus.queries(HNSW_RECALL_QUERIES, rng)
    known = KnownVectors(dict(timed + recall_queries))
    workload = _Workload(corpus, timed, recall_queries, known, embed_ms)
    setups = [
        ("SQLite", f"sqlite+aiosqlite:///{workdir / 'latency.db'}", SIZES),
        ("PostgreSQL + pgvector", await create_database(server, "hnsw"), SIZES),
        ("PostgreSQL", await create_database(server, "exact"), SIZES[:1]),
    ]
    for name, url, sizes in setups:
        database = await migrated(url)
        try:
            await _latency_of(report, database, name, sizes, workload)
        finally:
            await database.dispose()


async def _latency_of(
    report: PipelinesReport,
    database: Database,
    name: str,
    sizes: Sequence[int],
    workload: _Workload,
) -> None:
    """One database loaded up to each size in turn, each mode timed at each size; with pgvector,
    the HNSW index rebuilt after each load and, at the largest size, its recall."""
    owner = await create_owner(database)
    pgvector = name.endswith("pgvector")
    if pgvector:  # the extension and its column; the index is built after each load
        async with database.engine.connect() as connection:
            await prepare_vector_index(connection, MINILM)
            await connection.commit()
    loaded = 0
    run_starts: dict[UUID, int] = {}
    for size in sizes:
        log(f"[pipelines] latency: {name}, loading up to {size:,} chunks")
        if pgvector:  # every row inserted or published would go through a live index
            await execute_on_postgres(database, f"DROP INDEX IF EXISTS {hnsw_index_name(MINILM)}")
        run_starts |= await load(database, owner, workload.corpus, loaded, size, pgvector=pgvector)
        loaded = size
        if pgvector:
            report.hnsw_build_s[size] = await build_hnsw(database)
        scans = await index_scans(database) if pgvector else 0
        search = search_on_read_engine(database, workload.known)
        for mode in TIMED_MODES:
            log(f"  {name}, {size:,} chunks, {mode.value}")
            report.latencies.append(
                await _latency(
                    search, owner.user, workload.timed, mode, workload.embed_ms, name, size
                )
            )
        if pgvector and size == SIZES[-1]:
            await _hnsw_of(report, database, name, search, owner, workload, run_starts, scans)


async def _hnsw_of(
    report: PipelinesReport,
    database: Database,
    name: str,
    search: SearchChunks,
    owner: Owner,
    workload: _Workload,
    run_starts: dict[UUID, int],
    scans_before: int,
) -> None:
    """The HNSW index's scans during the timed runs, and its recall as the API searches and as
    its code intends."""
    # A backend flushes its statistics when it exits (an idle one, only after
    # seconds): close the search's connections first.
    await database.read_engine.dispose()
    await asyncio.sleep(0.5)
    report.hnsw_index_scans = await index_scans(database) - scans_before
    log(f"  {name}, HNSW recall@{TOP_K} against exact, {len(workload.recall_queries)} queries")
    report.hnsw_recall = await _hnsw_recall(
        search, owner.user, workload.corpus, workload.recall_queries, run_starts
    )
    report.hnsw_as_intended = await _hnsw_as_intended(
        database, owner.user.id, workload.corpus, workload.recall_queries, run_starts
    )


async def _latency(
    search: SearchChunks,
    user: User,
    queries: Sequence[tuple[str, list[float]]],
    mode: SearchMode,
    embed_ms: Sequence[float],
    database: str,
    size: int,
) -> Latency:
    async def call(query: str) -> float:
        started = time.perf_counter()
        await search.execute(user, query, limit=TOP_K, mode=mode)
        return (time.perf_counter() - started) * 1000

    warm_until = time.perf_counter() + WARMUP_BUDGET_S
    for query, _ in queries[:WARMUP_CALLS]:
        await call(query)
        if time.perf_counter() > warm_until:
            break
    times: list[float] = []
    until = time.perf_counter() + LATENCY_BUDGET_S
    for query, _ in queries:
        if len(times) >= LATENCY_MIN_CALLS and time.perf_counter() > until:
            break
        times.append(await call(query))
    # The query's embedding, timed alone beforehand, added call by call.
    with_embedding = [t + embed_ms[i % len(embed_ms)] for i, t in enumerate(times)]
    index = "pgvector HNSW" if database.endswith("pgvector") else "exact (NumPy)"
    return Latency(database, index, size, mode.value, tuple(times), tuple(with_embedding))


async def _hnsw_recall(
    search: SearchChunks,
    user: User,
    corpus: SyntheticCorpus,
    queries: Sequence[tuple[str, list[float]]],
    run_starts: dict[UUID, int],
) -> float:
    """recall@10 of the semantic search (HNSW, as the API runs it) against NumPy's exact top 10
    of the same vectors."""
    total = 0.0
    for query, vector in queries:
        hits = await search.execute(user, query, limit=TOP_K, mode=SearchMode.SEMANTIC)
        total += _overlap(corpus, vector, hits, run_starts)
    return total / len(queries)


async def _hnsw_as_intended(
    database: Database,
    owner_id: UUID,
    corpus: SyntheticCorpus,
    queries: Sequence[tuple[str, list[float]]],
    run_starts: dict[UUID, int],
) -> tuple[float, tuple[float, ...]]:
    """The recall and the time of each call of `SqlVectorIndex.nearest` alone (the index, without
    the use case around it), on a connection of the write engine: a check that the index's
    settings (ef_search 100, the iterative scan) hold on both engines alike."""
    total, times = 0.0, []
    async with database.engine.connect() as connection:
        index = SqlVectorIndex(connection)
        for _, vector in queries:
            started = time.perf_counter()
            hits = await index.nearest(owner_id, MINILM, vector, limit=TOP_K, resource_id=None)
            times.append((time.perf_counter() - started) * 1000)
            total += _overlap(corpus, vector, hits, run_starts)
        await connection.rollback()
    return total / len(queries), tuple(times)


def _overlap(
    corpus: SyntheticCorpus,
    vector: Sequence[float],
    hits: Sequence[ChunkHit],
    run_starts: dict[UUID, int],
) -> float:
    """The share of NumPy's exact top 10 among `hits` (a chunk's place in the corpus: its run's
    first place plus its seq)."""
    scores = corpus.vectors @ np.asarray(vector, dtype=np.float32)
    exact = {int(i) for i in np.argpartition(-scores, TOP_K)[:TOP_K]}
    found = {run_starts[hit.chunk.run_id] + hit.chunk.seq for hit in hits}
    return len(exact & found) / TOP_K
