"""The pipeline feature's repositories: runs (with the log of their changes), artifacts, chunks
with their full-text search, and the vector index (`vectors.py`: pgvector's HNSW, or an exact
scan)."""

from app.infrastructure.repositories.pipeline.artifacts import SqlAlchemyPipelineArtifactRepository
from app.infrastructure.repositories.pipeline.chunks import SqlAlchemyChunkRepository
from app.infrastructure.repositories.pipeline.runs import SqlAlchemyPipelineRunRepository
from app.infrastructure.repositories.pipeline.vectors import SqlVectorIndex

__all__ = [
    "SqlAlchemyChunkRepository",
    "SqlAlchemyPipelineArtifactRepository",
    "SqlAlchemyPipelineRunRepository",
    "SqlVectorIndex",
]
