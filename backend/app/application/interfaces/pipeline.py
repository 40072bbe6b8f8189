"""Ports of media pipelines (transcribe or extract → chunk → embed → index) and semantic search.

The steps' models sit behind `Transcriber`, `TextExtractor` and `Embedder`; the stored runs, steps,
artifacts and chunks behind repositories in `PipelineUnitOfWork`; nearest-neighbour search behind
`VectorIndex` (pgvector's HNSW, or an exact scan), full-text search behind `ChunkRepository`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.application.errors import (
    ApplicationError,
    DependencyUnavailableError,
)
from app.application.interfaces.access import PolicyRule
from app.application.interfaces.idempotency import IdempotencyUnitOfWork
from app.application.interfaces.job import JobUnitOfWork
from app.application.interfaces.resource import ResourceFileRepository
from app.domain.entities.pipeline import Chunk, PipelineArtifact, PipelineRun, StepName

PIPELINE = "pipeline"
PIPELINE_OBJECT_TYPES = (PIPELINE,)
# Users start, follow and retry runs of their own files (a retry is an update of the run).
PIPELINE_POLICY_RULES = tuple(
    PolicyRule("user", PIPELINE, action, "own") for action in ("create", "read", "update")
)


# ----------------------------------------------------------------------------- the steps' models
@dataclass(frozen=True, slots=True)
class EmbeddingModel:
    """Which vector space an embedding lives in. Stored with every vector: vectors of two models
    are never compared, and a change of model re-embeds what the old one indexed."""

    name: str
    dimension: int


class Transcriber(Protocol):
    """Speech to text. Raises MediaUnreadableError for audio it cannot decode (retrying will not
    help) and ModelServiceUnavailableError for a model server that failed or timed out."""

    @property
    def name(self) -> str: ...

    async def transcribe(self, audio: bytes, media_type: str) -> str: ...


class TextExtractor(Protocol):
    """The text of a document (PDF, UTF-8 text). Raises MediaUnreadableError when it has none
    to give (a damaged PDF, bytes that are not UTF-8)."""

    def extract(self, content: bytes, media_type: str) -> str: ...


class Embedder(Protocol):
    """Texts to unit-length vectors of `model.dimension` floats, one per text, in order.

    Callers send at most `batch_size` texts at a time. `count_tokens` is the model's own count
    (the chunker keeps chunks within what the model reads)."""

    @property
    def model(self) -> EmbeddingModel: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def count_tokens(self, text: str) -> int: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


# ---------------------------------------------------------------------------------- the steps
@dataclass(frozen=True, slots=True)
class StepOutput:
    """What a step made: the artifact's kind and plain facts, and a text to keep (encrypted at
    rest) when the step made one: a transcript, a document's text."""

    kind: str
    summary: dict[str, object]
    text: str | None = None


class StepWorkspace(Protocol):
    """What a running step may read and write, handed to it by the orchestrator: the run's file,
    the text its first step made, and its chunks. Every write is idempotent (a step may run
    again after a worker died in it)."""

    async def read_file(self) -> bytes: ...

    async def read_text(self) -> str: ...

    async def save_chunks(self, pieces: Sequence[tuple[int, int]], text: str) -> int:
        """Store the chunks of `text` at these (start, end) offsets, numbered in order; the
        chunks already stored by an earlier attempt stay as they are. How many there are."""
        ...

    async def chunks_to_embed(self, model: EmbeddingModel) -> tuple[list[Chunk], int]:
        """The run's chunks with no embedding of `model` yet, and how many chunks it has."""
        ...

    async def store_embeddings(
        self, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]], fraction: float
    ) -> None:
        """Store a batch of (seq, vector), committed with the step's progress (0.0 to 1.0)."""
        ...

    async def publish(self) -> tuple[str, int]:
        """Make the run's chunks searchable; the vector index's name and how many there are."""
        ...


class PipelineStepRunner(Protocol):
    """One kind of step (the orchestrator composes them; seed 000's `IPipelineStep`)."""

    @property
    def name(self) -> StepName: ...

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput: ...


# ------------------------------------------------------------------------------- stored state
class PipelineRunRepository(Protocol):
    """Runs, and the log of their changes: `add` and `update` also keep the run as it now is,
    numbered by its version, for the run's event stream."""

    async def add(self, run: PipelineRun) -> None: ...

    async def get(self, run_id: UUID) -> PipelineRun | None: ...

    async def update(self, run: PipelineRun, *, expected_version: int) -> bool:
        """Store `run` over the row still at `expected_version`; False if it changed."""
        ...

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[PipelineRun]:
        """By id; only `owner_id`'s when it is given."""
        ...

    async def list_for_file(self, file_id: UUID) -> list[PipelineRun]: ...

    async def list_for_resource(self, resource_id: UUID) -> list[PipelineRun]: ...

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineRun]: ...

    async def changes_after(self, run_id: UUID, version: int) -> list[PipelineRun]:
        """The run as it was after each change numbered above `version`, oldest first."""
        ...

    async def delete_by_owner(self, owner_id: UUID) -> int: ...


class PipelineArtifactRepository(Protocol):
    async def add_if_absent(self, artifact: PipelineArtifact) -> bool:
        """Store the step's artifact unless the run has one for that step; True if stored."""
        ...

    async def list_for_run(self, run_id: UUID) -> list[PipelineArtifact]: ...

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineArtifact]: ...

    async def delete_for_runs(self, run_ids: Sequence[UUID]) -> list[PipelineArtifact]:
        """Delete the runs' artifacts; those deleted (their encrypted texts are the caller's to
        remove from storage, after the commit)."""
        ...


@dataclass(frozen=True, slots=True)
class ChunkHit:
    chunk: Chunk
    score: float  # higher is better; comparable only within one list


class ChunkRepository(Protocol):
    """A run's chunks: their text and offsets, and their embeddings once made. A chunk becomes
    searchable when its run's index step publishes it."""

    async def add_if_absent(self, chunks: Sequence[Chunk]) -> int:
        """Store the chunks the run does not have yet (by `seq`); how many were new."""
        ...

    async def list_for_run(self, run_id: UUID) -> list[Chunk]: ...

    async def without_embedding(self, run_id: UUID, model: EmbeddingModel) -> list[Chunk]:
        """The run's chunks with no embedding of `model` yet, by seq."""
        ...

    async def set_embeddings(
        self, run_id: UUID, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]]
    ) -> None:
        """Store each (seq, vector) of the run, replacing an embedding of another model."""
        ...

    async def publish(self, run_id: UUID) -> int:
        """Make the run's embedded chunks searchable (vector and full-text); how many there are."""
        ...

    async def delete_for_runs(self, run_ids: Sequence[UUID]) -> int: ...

    async def delete_by_owner(self, owner_id: UUID) -> int: ...

    async def keyword_search(
        self, owner_id: UUID, query: str, *, limit: int, resource_id: UUID | None
    ) -> list[ChunkHit]:
        """The owner's searchable chunks matching any word of `query`, best first (PostgreSQL
        full-text search; SQLite FTS5)."""
        ...

    async def runs_embedded_with_other_models(
        self, model: EmbeddingModel, *, limit: int
    ) -> list[UUID]:
        """Runs with a chunk whose embedding is not of `model` (to be embedded again)."""
        ...


class VectorIndex(Protocol):
    """Nearest neighbours by cosine similarity among the owner's searchable chunks of one model:
    pgvector's HNSW index on PostgreSQL with the `vector` extension, else an exact scan."""

    async def name(self) -> str:
        """`pgvector-hnsw` or `exact`."""
        ...

    async def nearest(
        self,
        owner_id: UUID,
        model: EmbeddingModel,
        vector: Sequence[float],
        *,
        limit: int,
        resource_id: UUID | None,
    ) -> list[ChunkHit]: ...


class PipelineUnitOfWork(JobUnitOfWork, IdempotencyUnitOfWork, Protocol):
    """What the pipeline's use cases touch: runs, artifacts, chunks and their index, the files
    they read (the resource feature's), and the jobs that run the steps."""

    @property
    def pipeline_runs(self) -> PipelineRunRepository: ...

    @property
    def pipeline_artifacts(self) -> PipelineArtifactRepository: ...

    @property
    def pipeline_chunks(self) -> ChunkRepository: ...

    @property
    def chunk_vectors(self) -> VectorIndex: ...

    @property
    def resource_files(self) -> ResourceFileRepository: ...


# ------------------------------------------------------------------------------------- errors
class UnsupportedPipelineMediaError(ApplicationError):
    """No pipeline reads this type of file (only audio, PDF and text are read): 422, since the
    request itself is well formed (the feature maps it)."""

    code = "pipeline.unsupported_media"


class MediaUnreadableError(ApplicationError):
    """The file's bytes are not what its type says (damaged audio, a PDF without text)."""

    code = "pipeline.unreadable_media"


class ModelServiceUnavailableError(DependencyUnavailableError):
    """A model server failed, timed out or is behind an open circuit: worth retrying later
    (`retry_after_seconds`)."""

    code = "pipeline.model_unavailable"
