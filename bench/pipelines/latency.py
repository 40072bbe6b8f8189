"""The pipelines pass of `make bench`: how well and how fast the media pipeline's models and its
search work, measured through the production code on real, migrated databases.

- Retrieval quality: the 252 labelled passages (backend/tests/data/retrieval/) indexed as one
  owner's chunks, one chunk per passage, then each of the 85 queries ranked by `SearchChunks` in
  semantic, keyword and hybrid mode: recall@10 and MRR@10, overall and per kind of query, on
  SQLite (exact scan, FTS5) and on PostgreSQL with pgvector (HNSW, full-text search).
- Transcription: word error rate of `PocketSphinxTranscriber` over the 12 committed sentences,
  and its real-time factor (process CPU seconds and wall seconds per second of audio).
- Embedding throughput: chunks per second of `EmbedStep` (batches committed with the run's
  progress, as the orchestrator's workspace does) against the model's own `embed()` on the same
  texts in the same run.
- Search latency: `SearchChunks` at 10,000 and 100,000 chunks of one owner, on SQLite (exact),
  PostgreSQL + pgvector (HNSW) and, at 10,000, PostgreSQL without pgvector (exact); and the
  recall@10 of HNSW against a NumPy brute force over the same vectors. Embedding 100,000 real
  texts would take half an hour here, so these chunks are synthetic: clustered unit vectors and
  text drawn from the passages' words (see `SyntheticCorpus`).

Nothing is asserted: every figure, the goals among them, is reported as measured. PostgreSQL is
the bundled PostgreSQL 18 + pgvector (backend/tests/pgvector_server.py), started here.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import secrets
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import asyncpg
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Table, insert, text

from app.application.interfaces.pipeline import ChunkHit, EmbeddingModel
from app.application.services.pipeline_steps import EmbedStep, IndexStep
from app.application.use_cases.pipeline.search_chunks import SearchChunks, SearchMode
from app.domain.entities.pipeline import Chunk, MediaKind, PipelineRun, StepName
from app.domain.entities.resource import Resource, StoredFile
from app.domain.entities.user import User
from app.infrastructure.adapters.embedding.minilm import (
    MINILM,
    PackagedMiniLmEmbedder,
    PackagedModelMissingError,
    packaged_model_directory,
)
from app.infrastructure.adapters.transcription.audio import decode_to_pcm16
from app.infrastructure.adapters.transcription.pocketsphinx import PocketSphinxTranscriber
from app.infrastructure.database import migrations
from app.infrastructure.database.engine import Database
from app.infrastructure.models.pipeline import PipelineChunkModel
from app.infrastructure.repositories.pipeline import (
    SqlAlchemyChunkRepository,
    SqlAlchemyPipelineRunRepository,
)
from app.infrastructure.repositories.pipeline.vectors import (
    SqlVectorIndex,
    hnsw_index_name,
    prepare_vector_index,
)
from app.infrastructure.repositories.resource import (
    SqlAlchemyResourceFileRepository,
    SqlAlchemyResourceRepository,
)
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.infrastructure.repositories.user import SqlAlchemyUserRepository
from bench.config import BACKEND_DIR, BenchError, log
from tests.pgvector_server import EmbeddedPostgres, PgvectorServerError, bundled_installation
from tests.retrieval_metrics import (
    QUERY_KINDS,
    load_retrieval_set,
    recall_at_k,
    reciprocal_rank,
)
from tests.speech_metrics import word_edits, word_error_rate, words

TOP_K = 10  # recall@10, MRR@10, and the search API's default limit
MODES = (SearchMode.SEMANTIC, SearchMode.KEYWORD, SearchMode.HYBRID)
TIMED_MODES = (SearchMode.SEMANTIC, SearchMode.HYBRID)
SPEECH_DIR = BACKEND_DIR / "tests" / "data" / "speech"
QUERY_EMBEDDING_ROUNDS = 3  # each labelled query embedded alone this many times, after a warm-up
# Latency: after a warm-up, up to LATENCY_CALLS calls of each mode, fewer (never under
# LATENCY_MIN_CALLS) where they would take longer than LATENCY_BUDGET_S (exact scans of 100,000).
LATENCY_CALLS = 300
LATENCY_MIN_CALLS = 30
LATENCY_BUDGET_S = 20.0
WARMUP_CALLS = 20
WARMUP_BUDGET_S = 5.0
HNSW_RECALL_QUERIES = 200
SIZES = (10_000, 100_000)
RUN_CHUNKS = 10_000  # the synthetic chunks come in runs (files) of this many
CLUSTERS = 1_000
NOISE = 0.8  # norm of the noise around a cluster's centre: cosine to it about 0.78
WORDS_PER_CHUNK = 45
TOPIC_WORDS_PER_CHUNK = 15
TOPIC_SIZE = 12
SEED = 20261207

Floats = NDArray[np.float32]
_chunks = cast(Table, PipelineChunkModel.__table__)
_WORD = re.compile(r"[a-z]+")
# The repositories of PipelineUnitOfWork that search and the embed and index steps use.
_REPOSITORIES = {
    "pipeline_runs": SqlAlchemyPipelineRunRepository,
    "pipeline_chunks": SqlAlchemyChunkRepository,
    "chunk_vectors": SqlVectorIndex,
}
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


# ---------------------------------------------------------------------------------- records
@dataclass(frozen=True, slots=True)
class Scores:
    recall: float
    mrr: float
    queries: int

    def to_json(self) -> dict[str, Any]:
        return {
            "recall_at_10": round(self.recall, 4),
            "mrr_at_10": round(self.mrr, 4),
            "queries": self.queries,
        }


@dataclass(frozen=True, slots=True)
class ModeQuality:
    overall: Scores
    by_kind: dict[str, Scores]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.overall.to_json(),
            "by_kind": {kind: scores.to_json() for kind, scores in self.by_kind.items()},
        }


@dataclass(frozen=True, slots=True)
class Transcription:
    sentences: int
    audio_s: float
    mean_wer: float  # the mean of each sentence's rate
    corpus_wer: float  # all edits over all reference words
    cpu_s: float
    wall_s: float

    def to_json(self) -> dict[str, Any]:
        return {
            "sentences": self.sentences,
            "audio_s": round(self.audio_s, 2),
            "mean_wer": round(self.mean_wer, 4),
            "corpus_wer": round(self.corpus_wer, 4),
            "cpu_s_per_audio_s": round(self.cpu_s / self.audio_s, 4),
            "wall_s_per_audio_s": round(self.wall_s / self.audio_s, 4),
        }


@dataclass(frozen=True, slots=True)
class Timing:
    wall_s: float
    cpu_s: float  # the process's, every thread (NumPy's BLAS threads included)

    def to_json(self, chunks: int) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "chunks_per_s": round(chunks / self.wall_s, 2),
        }


@dataclass(frozen=True, slots=True)
class Throughput:
    chunks: int
    batch_size: int
    step: Timing  # EmbedStep over real repositories (SQLite), from start to end
    in_model: Timing  # the embed() calls the step made, added up
    raw_batches: Timing  # embed() alone afterwards, in the step's batches and order
    raw_one_call: Timing  # embed() alone of every text in one call (sorted by length across all)

    @property
    def step_ratio(self) -> float:
        """The step's throughput over its own model calls' (1.0: no overhead at all)."""
        return self.in_model.wall_s / self.step.wall_s

    def to_json(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks,
            "batch_size": self.batch_size,
            "step": self.step.to_json(self.chunks),
            "embed_calls_inside_the_step": self.in_model.to_json(self.chunks),
            "embed_alone_in_the_steps_batches": self.raw_batches.to_json(self.chunks),
            "embed_alone_one_call": self.raw_one_call.to_json(self.chunks),
            "ratio_step_to_its_embed_calls": round(self.step_ratio, 4),
            "ratio_step_to_embed_alone_batches": round(
                self.raw_batches.wall_s / self.step.wall_s, 4
            ),
            "ratio_step_to_embed_alone_one_call": round(
                self.raw_one_call.wall_s / self.step.wall_s, 4
            ),
        }


@dataclass(frozen=True, slots=True)
class Latency:
    database: str
    index: str
    chunks: int
    mode: str
    search_ms: tuple[float, ...]
    with_embedding_ms: tuple[float, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "index": self.index,
            "chunks": self.chunks,
            "mode": self.mode,
            "calls": len(self.search_ms),
            "p50_ms": round(percentile(self.search_ms, 50), 3),
            "p99_ms": round(percentile(self.search_ms, 99), 3),
            "with_query_embedding_p50_ms": round(percentile(self.with_embedding_ms, 50), 3),
            "with_query_embedding_p99_ms": round(percentile(self.with_embedding_ms, 99), 3),
        }


@dataclass(slots=True)
class PipelinesReport:
    quality: dict[str, dict[str, ModeQuality]] = field(default_factory=dict)  # database → mode
    transcription: Transcription | None = None
    throughput: Throughput | None = None
    query_embedding_ms: tuple[float, ...] = ()
    latencies: list[Latency] = field(default_factory=list)
    hnsw_recall: float | None = None
    # Recall and call times of the index with the settings its code sets (see _hnsw_as_intended).
    hnsw_as_intended: tuple[float, tuple[float, ...]] | None = None
    hnsw_build_s: dict[int, float] = field(default_factory=dict)  # chunks → seconds
    hnsw_index_scans: int | None = None
    seconds: float = 0.0
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)  # os.getloadavg()
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def to_json(self) -> dict[str, Any]:
        return {
            "retrieval_quality": {
                database: {mode: quality.to_json() for mode, quality in modes.items()}
                for database, modes in self.quality.items()
            },
            "transcription": self.transcription.to_json() if self.transcription else None,
            "embedding_throughput": self.throughput.to_json() if self.throughput else None,
            "query_embedding_ms": {
                "calls": len(self.query_embedding_ms),
                "p50": round(percentile(self.query_embedding_ms, 50), 3),
                "p99": round(percentile(self.query_embedding_ms, 99), 3),
            },
            "search_latency": [latency.to_json() for latency in self.latencies],
            "synthetic_corpus": {
                "clusters": CLUSTERS,
                "noise_norm": NOISE,
                "words_per_chunk": WORDS_PER_CHUNK + TOPIC_WORDS_PER_CHUNK,
                "seed": SEED,
            },
            "hnsw_recall_at_10_vs_exact": (
                round(self.hnsw_recall, 4) if self.hnsw_recall is not None else None
            ),
            "hnsw_recall_queries": HNSW_RECALL_QUERIES,
            "hnsw_in_a_transaction": (
                {
                    "recall_at_10_vs_exact": round(self.hnsw_as_intended[0], 4),
                    "nearest_p50_ms": round(percentile(self.hnsw_as_intended[1], 50), 3),
                    "nearest_p99_ms": round(percentile(self.hnsw_as_intended[1], 99), 3),
                }
                if self.hnsw_as_intended
                else None
            ),
            "hnsw_build_s": {str(size): round(s, 2) for size, s in self.hnsw_build_s.items()},
            "hnsw_index_scans_during_semantic_runs": self.hnsw_index_scans,
            "pass_seconds": round(self.seconds, 1),
            "load_average_before": self.load_before,
            "load_average_after": self.load_after,
        }


def percentile(values: Sequence[float], rank: float) -> float:
    """The nearest-rank percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


# -------------------------------------------------------------------------------- the pass
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
    report.transcription = asyncio.run(_transcription())
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
    report.query_embedding_ms, query_vectors = await _embed_queries(
        embedder, [query.query for query in retrieval.queries]
    )
    known = _KnownVectors(query_vectors)
    log("[pipelines] retrieval quality: SQLite, indexed by the embed and index steps")
    database = await _migrated(f"sqlite+aiosqlite:///{workdir / 'quality.db'}")
    try:
        owner = await _owner(database)
        report.throughput, vectors = await _index_through_pipeline(
            database, owner, embedder, [passage.text for passage in retrieval.passages]
        )
        report.quality["SQLite"] = await _rank(database, owner.user, known, retrieval)
    finally:
        await database.dispose()
    log("[pipelines] retrieval quality: PostgreSQL + pgvector, the same vectors")
    database = await _migrated(await _create_database(server, "quality"))
    try:
        owner = await _owner(database)
        await _index_with_vectors(database, owner, retrieval.passages, vectors)
        report.quality["PostgreSQL + pgvector"] = await _rank(
            database, owner.user, known, retrieval
        )
    finally:
        await database.dispose()
    await _latency_passes(report, server, workdir, report.query_embedding_ms)


# ---------------------------------------------------------------------------- transcription
async def _transcription() -> Transcription:
    references: dict[str, str] = json.loads((SPEECH_DIR / "sentences.json").read_text())
    files = sorted(SPEECH_DIR.glob("*.flac"))
    transcriber = PocketSphinxTranscriber()
    await transcriber.transcribe(files[0].read_bytes(), "audio/flac")  # loads a decoder
    rates, edits, said, audio_s, cpu_s, wall_s = [], 0, 0, 0.0, 0.0, 0.0
    for path in files:
        audio = path.read_bytes()
        audio_s += decode_to_pcm16(audio, "audio/flac").seconds
        cpu, wall = time.process_time(), time.perf_counter()
        heard = await transcriber.transcribe(audio, "audio/flac")
        cpu_s += time.process_time() - cpu
        wall_s += time.perf_counter() - wall
        reference = references[path.name]
        rates.append(word_error_rate(reference, heard))
        edits += word_edits(reference, heard)
        said += len(words(reference))
    return Transcription(len(files), audio_s, sum(rates) / len(rates), edits / said, cpu_s, wall_s)


# ---------------------------------------------------------------- the model and its vectors
async def _embed_queries(
    embedder: PackagedMiniLmEmbedder, queries: Sequence[str]
) -> tuple[tuple[float, ...], dict[str, list[float]]]:
    """Each query's vector, and the time of embedding one query alone (each query, several
    rounds): the part of a search call that is the same on every database."""
    await embedder.embed(list(queries[:8]))  # warm-up
    vectors: dict[str, list[float]] = {}
    times: list[float] = []
    for _ in range(QUERY_EMBEDDING_ROUNDS):
        for query in queries:
            started = time.perf_counter()
            [vector] = await embedder.embed([query])
            times.append((time.perf_counter() - started) * 1000)
            vectors[query] = vector
    return tuple(times), vectors


class _KnownVectors:
    """The `Embedder` search is given here: the vectors of known queries, made beforehand (by
    MiniLM, or synthetic), so a timed call is the search alone. The query embedding is timed on
    its own (`_embed_queries`)."""

    def __init__(self, vectors: dict[str, list[float]]) -> None:
        self._vectors = vectors

    @property
    def model(self) -> EmbeddingModel:
        return MINILM

    @property
    def batch_size(self) -> int:
        return 32

    @property
    def max_tokens(self) -> int:
        return 254

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vectors[text] for text in texts]

    def add(self, vectors: dict[str, list[float]]) -> None:
        self._vectors.update(vectors)


class _OwnersOwn:
    """The `AccessPolicy` here: a user may read what is theirs (the default policy's answer for
    a user's own chunks; Casbin's cost is not what this pass measures)."""

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        return owner_id == user.id

    async def refresh(self) -> None:
        return None


# ---------------------------------------------------------------------------- the databases
async def _create_database(server: EmbeddedPostgres, purpose: str) -> str:
    name = f"strata_bench_{purpose}_{secrets.token_hex(3)}"
    connection = await asyncpg.connect(_dsn(server.url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return f"{server.url.rsplit('/', 1)[0]}/{name}"


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _migrated(url: str) -> Database:
    await asyncio.to_thread(migrations.upgrade, url)  # Alembic runs its own event loop
    return Database(url)


def _write_uow(database: Database) -> SqlAlchemyUnitOfWork:
    return SqlAlchemyUnitOfWork(
        database.engine,
        _REPOSITORIES,
        write_gate=database.write_gate,
        gate_timeout=database.write_gate_timeout,
    )


def _search(database: Database, embedder: _KnownVectors) -> SearchChunks:
    # As the API builds it: the read engine (read-only connections in autocommit).
    uow = SqlAlchemyUnitOfWork(database.read_engine, _REPOSITORIES)
    return SearchChunks(uow, _OwnersOwn(), embedder)


@dataclass(frozen=True, slots=True)
class _Owner:
    user: User
    resource: Resource
    file: StoredFile


async def _owner(database: Database) -> _Owner:
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
    return _Owner(user, resource, stored)


async def _new_run(database: Database, owner: _Owner, *, up_to: StepName) -> PipelineRun:
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


# ---------------------------------------------------------- indexing the labelled passages
@dataclass
class _Workspace:
    """The orchestrator's workspace (run_step.py) for the embed and index steps, over the real
    repositories: each batch of embeddings committed, then the run's progress in a transaction
    of its own, as in production."""

    database: Database
    run: PipelineRun
    text: str

    async def read_file(self) -> bytes:
        return self.text.encode()

    async def read_text(self) -> str:
        return self.text

    async def save_chunks(self, pieces: Sequence[tuple[int, int]], text: str) -> int:
        chunks = [
            _chunk_of(self.run, seq, text, start, end) for seq, (start, end) in enumerate(pieces)
        ]
        async with _write_uow(self.database) as uow:
            await uow.pipeline_chunks.add_if_absent(chunks)
            await uow.commit()
        return len(chunks)

    async def chunks_to_embed(self, model: EmbeddingModel) -> tuple[list[Chunk], int]:
        async with _write_uow(self.database) as uow:
            pending = await uow.pipeline_chunks.without_embedding(self.run.id, model)
            total = len(await uow.pipeline_chunks.list_for_run(self.run.id))
        return pending, total

    async def store_embeddings(
        self, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]], fraction: float
    ) -> None:
        async with _write_uow(self.database) as uow:
            await uow.pipeline_chunks.set_embeddings(self.run.id, model, vectors)
            await uow.commit()
        async with _write_uow(self.database) as uow:
            run = await uow.pipeline_runs.get(self.run.id)
            expected = run.version
            run.report_progress(StepName.EMBED, fraction, datetime.now(UTC))
            await uow.pipeline_runs.update(run, expected_version=expected)
            await uow.commit()

    async def publish(self) -> tuple[str, int]:
        async with _write_uow(self.database) as uow:
            count = await uow.pipeline_chunks.publish(self.run.id)
            index = await uow.chunk_vectors.name()
            await uow.commit()
        return index, count


def _chunk_of(run: PipelineRun, seq: int, text: str, start: int, end: int) -> Chunk:
    return Chunk(
        run_id=run.id,
        seq=seq,
        owner_id=run.owner_id,
        resource_id=run.resource_id,
        file_id=run.file_id,
        text=text[start:end],
        start=start,
        end=end,
    )


def _passage_pieces(texts: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """The passages as one file's text, blank-line separated, and each one's offsets."""
    pieces, start = [], 0
    for passage in texts:
        pieces.append((start, start + len(passage)))
        start += len(passage) + 2
    return "\n\n".join(texts), pieces


async def _index_through_pipeline(
    database: Database, owner: _Owner, embedder: PackagedMiniLmEmbedder, texts: Sequence[str]
) -> tuple[Throughput, list[list[float]]]:
    """The passages embedded by `EmbedStep` and published by `IndexStep`, the embed step timed;
    then the same texts through `embed()` alone, in the step's batches and in one call."""
    run = await _new_run(database, owner, up_to=StepName.CHUNK)
    whole, pieces = _passage_pieces(texts)
    workspace = _Workspace(database, run, whole)
    await workspace.save_chunks(pieces, whole)
    async with _write_uow(database) as uow:  # the chunk step done, the embed step begun
        stored = await uow.pipeline_runs.get(run.id)
        expected = stored.version
        stored.finish_step(StepName.CHUNK, datetime.now(UTC))
        stored.start_step(StepName.EMBED, datetime.now(UTC))
        await uow.pipeline_runs.update(stored, expected_version=expected)
        await uow.commit()
    log(f"  EmbedStep over {len(texts)} passages")
    model = _ModelClock(embedder)
    step = await _timed(EmbedStep(model).run(stored, workspace))
    await IndexStep().run(stored, workspace)
    size = embedder.batch_size
    log(f"  embed() alone: batches of {size}, then one call")
    vectors: list[list[float]] = []

    async def in_batches() -> None:
        for first in range(0, len(texts), size):
            vectors.extend(await embedder.embed(texts[first : first + size]))

    raw_batches = await _timed(in_batches())
    raw_one_call = await _timed(embedder.embed(texts))
    in_model = Timing(model.wall_s, model.cpu_s)
    return Throughput(len(texts), size, step, in_model, raw_batches, raw_one_call), vectors


async def _timed(work: Awaitable[object]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    await work
    return Timing(time.perf_counter() - wall, time.process_time() - cpu)


class _ModelClock:
    """The packaged model as the embed step is given it, adding up the time spent in its
    `embed` calls: the step's overhead is then measured in the same seconds as the model's work,
    which other load on the machine slows alike (two runs one after the other may not be)."""

    def __init__(self, embedder: PackagedMiniLmEmbedder) -> None:
        self._embedder = embedder
        self.wall_s = 0.0
        self.cpu_s = 0.0

    @property
    def model(self) -> EmbeddingModel:
        return self._embedder.model

    @property
    def batch_size(self) -> int:
        return self._embedder.batch_size

    @property
    def max_tokens(self) -> int:
        return self._embedder.max_tokens

    def count_tokens(self, text: str) -> int:
        return self._embedder.count_tokens(text)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        wall, cpu = time.perf_counter(), time.process_time()
        vectors = await self._embedder.embed(texts)
        self.wall_s += time.perf_counter() - wall
        self.cpu_s += time.process_time() - cpu
        return vectors


async def _index_with_vectors(
    database: Database, owner: _Owner, passages: Sequence[Any], vectors: Sequence[list[float]]
) -> None:
    """The same chunks and vectors stored with the chunk repository (the pgvector column filled
    by `set_embeddings`, as the embed step would), then published."""
    async with database.engine.connect() as connection:
        await prepare_vector_index(connection, MINILM)
        await connection.commit()
    run = await _new_run(database, owner, up_to=StepName.EMBED)
    whole, pieces = _passage_pieces([passage.text for passage in passages])
    chunks = [_chunk_of(run, seq, whole, start, end) for seq, (start, end) in enumerate(pieces)]
    async with _write_uow(database) as uow:
        await uow.pipeline_chunks.add_if_absent(chunks)
        await uow.pipeline_chunks.set_embeddings(run.id, MINILM, list(enumerate(vectors)))
        await uow.pipeline_chunks.publish(run.id)
        await uow.commit()


async def _rank(
    database: Database, user: User, known: _KnownVectors, retrieval: Any
) -> dict[str, ModeQuality]:
    search = _search(database, known)
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


# ------------------------------------------------------------------------ synthetic corpus
@dataclass(frozen=True, slots=True)
class SyntheticCorpus:
    """Chunks for the latency runs: unit vectors in clusters (CLUSTERS random centres, each
    chunk its centre plus noise of norm NOISE, normalised), and texts of words drawn from the
    labelled passages: WORDS_PER_CHUNK by their frequency there (stop words included) and
    TOPIC_WORDS_PER_CHUNK from its cluster's own TOPIC_SIZE words. A query is a cluster's centre
    plus noise, and two of its topic words with two words by frequency."""

    vectors: Floats
    texts: list[str]
    centres: Floats
    topics: NDArray[np.int64]
    vocabulary: NDArray[np.str_]
    frequency: NDArray[np.float64]

    @classmethod
    def build(cls, size: int, passages: Sequence[str], rng: np.random.Generator) -> SyntheticCorpus:
        counts = Counter(word for passage in passages for word in _WORD.findall(passage.lower()))
        vocabulary = np.array(sorted(counts))
        frequency = np.array([counts[word] for word in vocabulary], dtype=np.float64)
        frequency /= frequency.sum()
        content = np.array([i for i, word in enumerate(vocabulary) if len(word) >= 5])
        topics = rng.choice(content, size=(CLUSTERS, TOPIC_SIZE))
        centres = _unit(rng.standard_normal((CLUSTERS, MINILM.dimension), dtype=np.float32))
        cluster = rng.integers(0, CLUSTERS, size)
        vectors = _unit(centres[cluster] + _noise(rng, size))
        general = rng.choice(len(vocabulary), size=(size, WORDS_PER_CHUNK), p=frequency)
        topical = topics[
            cluster[:, None], rng.integers(0, TOPIC_SIZE, (size, TOPIC_WORDS_PER_CHUNK))
        ]
        words = vocabulary[np.concatenate([general, topical], axis=1)]
        texts = [" ".join(row) for row in words.tolist()]
        return cls(vectors, texts, centres, topics, vocabulary, frequency)

    def queries(self, count: int, rng: np.random.Generator) -> list[tuple[str, list[float]]]:
        cluster = rng.integers(0, CLUSTERS, count)
        vectors = _unit(self.centres[cluster] + _noise(rng, count))
        topical = self.topics[cluster[:, None], rng.integers(0, TOPIC_SIZE, (count, 2))]
        general = rng.choice(len(self.vocabulary), size=(count, 2), p=self.frequency)
        words = self.vocabulary[np.concatenate([topical, general], axis=1)].tolist()
        return [
            (" ".join(row), vector.tolist()) for row, vector in zip(words, vectors, strict=True)
        ]


def _noise(rng: np.random.Generator, count: int) -> Floats:
    noise = rng.standard_normal((count, MINILM.dimension), dtype=np.float32)
    return cast(Floats, noise * np.float32(NOISE / math.sqrt(MINILM.dimension)))


def _unit(matrix: Floats) -> Floats:
    return cast(Floats, (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32))


# ------------------------------------------------------------------------------ latency
async def _latency_passes(
    report: PipelinesReport, server: EmbeddedPostgres, workdir: Path, embed_ms: Sequence[float]
) -> None:
    rng = np.random.default_rng(SEED)
    log(f"[pipelines] latency: {SIZES[-1]:,} synthetic chunks in {CLUSTERS:,} clusters")
    retrieval = load_retrieval_set()
    corpus = SyntheticCorpus.build(SIZES[-1], [p.text for p in retrieval.passages], rng)
    timed = corpus.queries(LATENCY_CALLS, rng)
    recall_queries = corpus.queries(HNSW_RECALL_QUERIES, rng)
    known = _KnownVectors(dict(timed + recall_queries))
    setups = [
        ("SQLite", f"sqlite+aiosqlite:///{workdir / 'latency.db'}", SIZES),
        ("PostgreSQL + pgvector", await _create_database(server, "hnsw"), SIZES),
        ("PostgreSQL", await _create_database(server, "exact"), SIZES[:1]),
    ]
    for name, url, sizes in setups:
        database = await _migrated(url)
        try:
            owner = await _owner(database)
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
                    await _postgres(database, f"DROP INDEX IF EXISTS {hnsw_index_name(MINILM)}")
                run_starts |= await _load(database, owner, corpus, loaded, size, pgvector=pgvector)
                loaded = size
                if pgvector:
                    report.hnsw_build_s[size] = await _build_hnsw(database)
                scans = await _index_scans(database) if pgvector else 0
                search = _search(database, known)
                for mode in TIMED_MODES:
                    log(f"  {name}, {size:,} chunks, {mode.value}")
                    report.latencies.append(
                        await _latency(search, owner.user, timed, mode, embed_ms, name, size)
                    )
                if pgvector and size == SIZES[-1]:
                    # A backend flushes its statistics when it exits (an idle one, only after
                    # seconds): close the search's connections first.
                    await database.read_engine.dispose()
                    await asyncio.sleep(0.5)
                    report.hnsw_index_scans = await _index_scans(database) - scans
                    log(
                        f"  {name}, HNSW recall@{TOP_K} against exact, {len(recall_queries)} queries"
                    )
                    report.hnsw_recall = await _hnsw_recall(
                        search, owner.user, corpus, recall_queries, run_starts
                    )
                    report.hnsw_as_intended = await _hnsw_as_intended(
                        database, owner.user.id, corpus, recall_queries, run_starts
                    )
        finally:
            await database.dispose()


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
    """The recall and the time of each call of `SqlVectorIndex.nearest` inside a transaction,
    where its `SET LOCAL hnsw.ef_search = 100` and `hnsw.iterative_scan` take effect. Search
    runs on the read engine, whose connections are in autocommit: there a SET LOCAL is outside
    any transaction and PostgreSQL ignores it (pgvector's defaults apply: ef_search 40, no
    iterative scan)."""
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


async def _load(
    database: Database,
    owner: _Owner,
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
        run = await _new_run(database, owner, up_to=StepName.INDEX)
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
        async with _write_uow(database) as uow:
            await uow.pipeline_chunks.publish(run.id)
            await uow.commit()
    if not database.is_sqlite:
        await _postgres(database, "VACUUM ANALYZE pipeline_chunks")
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
    connection = await asyncpg.connect(_dsn(database.url))
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


async def _build_hnsw(database: Database) -> float:
    """The HNSW index built over every row by `prepare_vector_index`, as at start-up over
    existing chunks (a bulk build: inserting 100,000 rows into a live index is far slower)."""
    async with database.engine.connect() as connection:
        await connection.execute(text("SET maintenance_work_mem = '1GB'"))
        started = time.perf_counter()
        await prepare_vector_index(connection, MINILM)
        await connection.commit()
    built = time.perf_counter() - started
    await _postgres(database, "ANALYZE pipeline_chunks")
    return built


async def _index_scans(database: Database) -> int:
    connection = await asyncpg.connect(_dsn(database.url))
    try:
        scans = await connection.fetchval(
            "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = $1",
            hnsw_index_name(MINILM),
        )
    finally:
        await connection.close()
    return int(scans or 0)


async def _postgres(database: Database, statement: str) -> None:
    connection = await asyncpg.connect(_dsn(database.url))  # autocommit: VACUUM needs it
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# ------------------------------------------------------------------------------- the report
def render_pipelines(report: PipelinesReport | None) -> list[str]:
    if report is None:
        return []
    return [
        "## Pipelines",
        "",
        f"Measured through the production code (repositories, `EmbedStep`, `SearchChunks` on the "
        f"read engine) on migrated databases; PostgreSQL is the bundled PostgreSQL 18 + pgvector "
        f"(backend/tests/pgvector_server.py: shared_buffers 32MB, fsync off). The pass took "
        f"{report.seconds:,.0f} s; load average (1, 5, 15 min) {_averages(report.load_before)} "
        f"before it, {_averages(report.load_after)} after: on 2 CPUs, above 2 means other work "
        "shared the machine, which slows the throughput and latency figures (not the quality).",
        "",
        *_render_quality(report),
        *_render_transcription(report.transcription),
        *_render_throughput(report.throughput),
        *_render_latency(report),
    ]


def _averages(average: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in average)


def _render_quality(report: PipelinesReport) -> list[str]:
    lines = [
        f"### Retrieval quality (252 passages, 85 labelled queries, top {TOP_K})",
        "",
        "| database | mode | recall@10 | MRR@10 | "
        + " | ".join(f"{kind} recall / MRR" for kind in QUERY_KINDS)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(QUERY_KINDS),
    ]
    for database, modes in report.quality.items():
        for mode, quality in modes.items():
            kinds = " | ".join(
                f"{quality.by_kind[kind].recall:.3f} / {quality.by_kind[kind].mrr:.3f} "
                f"({quality.by_kind[kind].queries})"
                for kind in QUERY_KINDS
            )
            lines.append(
                f"| {database} | {mode} | {quality.overall.recall:.3f} | "
                f"{quality.overall.mrr:.3f} | {kinds} |"
            )
    return [*lines, ""]


def _render_transcription(result: Transcription | None) -> list[str]:
    if result is None:
        return []
    return [
        "### Transcription (PocketSphinx en-US, packaged)",
        "",
        "| sentences | audio | WER (mean per sentence) | WER (all words) | CPU s per audio s "
        "| wall s per audio s |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {result.sentences} | {result.audio_s:.1f} s | {result.mean_wer:.1%} | "
        f"{result.corpus_wer:.1%} | {result.cpu_s / result.audio_s:.3f} | "
        f"{result.wall_s / result.audio_s:.3f} |",
        "",
    ]


def _render_throughput(result: Throughput | None) -> list[str]:
    if result is None:
        return []
    rows = [
        ("`EmbedStep` over the repositories (SQLite), start to end", result.step),
        ("its `embed()` calls, added up", result.in_model),
        ("`embed()` alone afterwards, the step's batches", result.raw_batches),
        ("`embed()` alone afterwards, one call", result.raw_one_call),
    ]
    met = "met" if result.step_ratio >= 0.9 else "**not met**"
    return [
        f"### Embedding throughput (all-MiniLM-L6-v2 on NumPy, {result.chunks} chunks, batches "
        f"of {result.batch_size})",
        "",
        "| how | wall s | chunks/s | process CPU s |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {timing.wall_s:.1f} | {result.chunks / timing.wall_s:.1f} | "
            f"{timing.cpu_s:.1f} |"
            for label, timing in rows
        ),
        "",
        f"The step's throughput over its own model calls': **{result.step_ratio:.3f}** (goal "
        f"≥ 0.9: {met}). Over `embed()` alone run afterwards: "
        f"{result.raw_batches.wall_s / result.step.wall_s:.2f} in the same batches, "
        f"{result.raw_one_call.wall_s / result.step.wall_s:.2f} in one call (runs a minute "
        "apart, so other load on the machine weighs on them unequally).",
        "",
    ]


def _render_latency(report: PipelinesReport) -> list[str]:
    embed = report.query_embedding_ms
    lines = [
        "### Search latency (one owner, synthetic clustered vectors)",
        "",
        f"Query embedding alone (MiniLM, one query): p50 {percentile(embed, 50):.1f} ms, p99 "
        f"{percentile(embed, 99):.1f} ms over {len(embed)} calls; the same on every database, "
        "added call by call to the search times in the last two columns.",
        "",
        "| database | index | chunks | mode | calls | p50 ms | p99 ms | p50 ms with embedding "
        "| p99 ms with embedding |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for latency in report.latencies:
        row = latency.to_json()
        lines.append(
            f"| {latency.database} | {latency.index} | {latency.chunks:,} | {latency.mode} | "
            f"{row['calls']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['with_query_embedding_p50_ms']:.1f} | {row['with_query_embedding_p99_ms']:.1f} |"
        )
    lines.append("")
    goal = [
        latency
        for latency in report.latencies
        if latency.database.endswith("pgvector") and latency.chunks == SIZES[-1]
    ]
    for latency in goal:
        p99 = percentile(latency.search_ms, 99)
        lines.append(
            f"- Goal p99 ≤ 50 ms at {SIZES[-1]:,} with pgvector, {latency.mode}: p99 "
            f"{p99:.1f} ms, {'met' if p99 <= 50 else '**not met**'} (search alone)."
        )
    if report.hnsw_recall is not None:
        lines.append(
            f"- HNSW recall@{TOP_K} against the exact top {TOP_K} (NumPy, same {SIZES[-1]:,} "
            f"vectors), {HNSW_RECALL_QUERIES} queries near the clusters: "
            f"**{report.hnsw_recall:.3f}**, as the API searches: on the read engine, whose "
            "connections are in autocommit, so `SqlVectorIndex`'s `SET LOCAL hnsw.ef_search = 100` "
            "and `SET LOCAL hnsw.iterative_scan` fall outside any transaction and are ignored "
            "(pgvector's defaults apply: ef_search 40, no iterative scan)."
        )
    if report.hnsw_as_intended is not None:
        recall, times = report.hnsw_as_intended
        lines.append(
            f"- The same queries through `SqlVectorIndex.nearest` inside a transaction, where "
            f"those settings take effect: recall@{TOP_K} **{recall:.3f}**, nearest() p50 "
            f"{percentile(times, 50):.1f} ms, p99 {percentile(times, 99):.1f} ms."
        )
    if report.hnsw_build_s:
        builds = ", ".join(f"{s:.1f} s at {size:,}" for size, s in report.hnsw_build_s.items())
        lines.append(f"- HNSW index build (`prepare_vector_index` over loaded rows): {builds}.")
    if report.hnsw_index_scans is not None:
        lines.append(
            f"- The HNSW index was scanned {report.hnsw_index_scans:,} times during the "
            f"{SIZES[-1]:,}-chunk semantic and hybrid runs (pg_stat_user_indexes): "
            + (
                "the planner used it."
                if report.hnsw_index_scans
                else "**the planner did not use it**."
            )
        )
    return [*lines, ""]


def main() -> int:
    """`python -m bench.pipelines`: this pass alone, its tables on stdout."""
    report = pipelines_pass()
    print("\n".join(render_pipelines(report)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
