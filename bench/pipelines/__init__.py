"""The pipelines pass of `make bench`: how well and how fast the media pipeline's models and its
search work, measured through the production code on real, migrated databases.

- Retrieval quality (quality.py): the 252 labelled passages (backend/tests/data/retrieval/)
  indexed as one owner's chunks, one chunk per passage, then each of the 85 queries ranked by
  `SearchChunks` in semantic, keyword and hybrid mode: recall@10 and MRR@10, overall and per
  kind of query, on SQLite (exact scan, FTS5) and on PostgreSQL with pgvector (HNSW, full-text
  search).
- Transcription (transcription.py): word error rate of `PocketSphinxTranscriber` over the 12
  committed sentences, and its real-time factor (process CPU seconds and wall seconds per second
  of audio).
- Embedding throughput (throughput.py): chunks per second of `EmbedStep` (batches committed with
  the run's progress, as the orchestrator's workspace does) against the model's own `embed()` on
  the same texts in the same run.
- Search latency (latency.py): `SearchChunks` at 10,000 and 100,000 chunks of one owner, on
  SQLite (exact), PostgreSQL + pgvector (HNSW) and, at 10,000, PostgreSQL without pgvector
  (exact); and the recall@10 of HNSW against a NumPy brute force over the same vectors.
  Embedding 100,000 real texts would take half an hour here, so these chunks are synthetic:
  clustered unit vectors and text drawn from the passages' words (corpus.py).

Nothing is asserted: every figure, the goals among them, is reported as measured (records.py,
and report.py for the Markdown). PostgreSQL is the bundled PostgreSQL 18 + pgvector
(backend/tests/pgvector_server.py), started here.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

from app.infrastructure.adapters.embedding.minilm import (
    PackagedMiniLmEmbedder,
    PackagedModelMissingError,
    packaged_model_directory,
)
from bench.config import BenchError, log
from bench.pipelines.databases import create_database, create_owner, migrated
from bench.pipelines.embedding import KnownVectors, embed_queries
from bench.pipelines.latency import latency_passes
from bench.pipelines.quality import index_with_vectors, rank
from bench.pipelines.records import PipelinesReport
from bench.pipelines.report import render_pipelines
from bench.pipelines.throughput import index_through_pipeline
from bench.pipelines.transcription import transcription
from tests.pgvector_server import EmbeddedPostgres, PgvectorServerError, bundled_installation
from tests.retrieval_metrics import load_retrieval_set

__all__ = ["PipelinesReport", "check_pipelines", "main", "pipelines_pass", "render_pipelines"]


def check_pipelines() -> None:
    """Fail before minutes of other passes, not after: the packaged model and the bundled
    PostgreSQL must be installed."""
    try:
        packaged_model_directory()
        bundled_installation()
    except (PackagedModelMissingError, PgvectorServerError) as error:
        raise BenchError(f"{error}; or skip the pipelines pass with BENCH_PIPELINES=0") from error


def pipelines_pass() -> PipelinesReport:
    """Every measurement of this pass. Starts (and always stops) the bundled PostgreSQL from
    this, the main, thread: its postmaster dies with the thread that started it."""
    report = PipelinesReport(load_before=os.getloadavg())
    started = time.perf_counter()
    log("[pipelines] transcription: PocketSphinx over the committed sentences")
    report.transcription = asyncio.run(transcription())
    log("[pipelines] starting the bundled PostgreSQL 18 + pgvector")
    with (
        tempfile.TemporaryDirectory(prefix="strata-bench-pipelines-") as temporary,
        EmbeddedPostgres() as server,
    ):
        asyncio.run(_measure(report, server, Path(temporary)))
    report.seconds = time.perf_counter() - started
    report.load_after = os.getloadavg()
    return report


async def _measure(report: PipelinesReport, server: EmbeddedPostgres, workdir: Path) -> None:
    embedder = PackagedMiniLmEmbedder()
    embedder.load()
    retrieval = load_retrieval_set()
    report.query_embedding_ms, query_vectors = await embed_queries(
        embedder, [query.query for query in retrieval.queries]
    )
    known = KnownVectors(query_vectors)
    log("[pipelines] retrieval quality: SQLite, indexed by the embed and index steps")
    database = await migrated(f"sqlite+aiosqlite:///{workdir / 'quality.db'}")
    try:
        owner = await create_owner(database)
        report.throughput, vectors = await index_through_pipeline(
            database, owner, embedder, [passage.text for passage in retrieval.passages]
        )
        report.quality["SQLite"] = await rank(database, owner.user, known, retrieval)
    finally:
        await database.dispose()
    log("[pipelines] retrieval quality: PostgreSQL + pgvector, the same vectors")
    database = await migrated(await create_database(server, "quality"))
    try:
        owner = await create_owner(database)
        await index_with_vectors(database, owner, retrieval.passages, vectors)
        report.quality["PostgreSQL + pgvector"] = await rank(database, owner.user, known, retrieval)
    finally:
        await database.dispose()
    await latency_passes(report, server, workdir, report.query_embedding_ms)


def main() -> int:
    """`python -m bench.pipelines`: this pass alone, its tables on stdout."""
    report = pipelines_pass()
    print("\n".join(render_pipelines(report)))
    return 0
