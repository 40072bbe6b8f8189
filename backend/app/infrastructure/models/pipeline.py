"""The tables of media pipelines: runs (with the log of their changes), artifacts and chunks.

A run outlives its file (a run whose file is deleted ends `canceled` and stays to say so); its
chunks do not: they go with the file (a foreign key with ON DELETE CASCADE), so nothing of a deleted
file is ever found by search. The full-text index is the database's own (a GIN index over
`to_tsvector` on PostgreSQL, an FTS5 table on SQLite; see the migration). On PostgreSQL with the
`vector` extension the chunks get an `embedding_vector` column and an HNSW index as well, added
at start-up when the extension is there (`repositories/pipeline/vectors.py`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.infrastructure.database.base import Base, UtcDateTime

# SQLite's rowid (the FTS5 table's key) must be an INTEGER PRIMARY KEY; PostgreSQL's may be big.
ChunkId = BigInteger().with_variant(Integer(), "sqlite")


class PipelineRunModel(Base):
    __tablename__ = "pipeline_runs"
    __table_args__ = (Index(None, "owner_id", "id"),)  # a user's runs, in keyset order

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    owner_id: Mapped[UUID] = mapped_column(Uuid)
    resource_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    file_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    media_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    steps: Mapped[str] = mapped_column(Text)  # JSON: each step's status, attempts, times, error
    progress: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer)


class PipelineRunChangeModel(Base):
    """The run as it was after each change: what its event stream sends, numbered by version."""

    __tablename__ = "pipeline_run_changes"

    run_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("pipeline_runs.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot: Mapped[str] = mapped_column(Text)  # JSON, the run's columns
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PipelineArtifactModel(Base):
    __tablename__ = "pipeline_artifacts"
    __table_args__ = (UniqueConstraint("run_id", "step"),)  # one per step: retries add none

    id: Mapped[UUID] = mapped_column(Uuid, primary_key=True)
    run_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    owner_id: Mapped[UUID] = mapped_column(Uuid, index=True)
    step: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)  # JSON of plain facts: counts, model, index
    # The encrypted text, when the step made one (see FileStorage).
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    storage_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PipelineChunkModel(Base):
    __tablename__ = "pipeline_chunks"
    __table_args__ = (
        UniqueConstraint("run_id", "seq"),  # a redelivered step adds no second chunk
        # Search reads one owner's searchable chunks of one model.
        Index(None, "owner_id", "searchable", "model"),
    )

    id: Mapped[int] = mapped_column(ChunkId, primary_key=True, autoincrement=True)
    run_id: Mapped[UUID] = mapped_column(Uuid, ForeignKey("pipeline_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[UUID] = mapped_column(Uuid)
    resource_id: Mapped[UUID] = mapped_column(Uuid)
    file_id: Mapped[UUID] = mapped_column(
        Uuid, ForeignKey("resource_files.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    start_offset: Mapped[int] = mapped_column(Integer)
    end_offset: Mapped[int] = mapped_column(Integer)
    # The embedding, as little-endian float32s, and the model that made it.
    model: Mapped[str | None] = mapped_column(String(200), nullable=True)
    dimension: Mapped[int | None] = mapped_column(Integer, nullable=True)
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    searchable: Mapped[bool] = mapped_column(Boolean, default=False)
