"""Search the caller's indexed chunks: semantic, keyword, or both fused (API.md "Pipelines and AI
search"). Only the caller's own chunks are ever read, whoever the caller is."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.pipeline import PIPELINE, ChunkHit, Embedder, PipelineUnitOfWork
from app.application.services.search import reciprocal_rank_fusion
from app.domain.entities.user import User
from app.domain.errors import InvalidValueError, PermissionDeniedError
from app.domain.value_objects.text import reject_control_characters

QUERY_MAX_LENGTH = 500
MAX_LIMIT = 50


class SearchMode(StrEnum):
    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


class SearchChunks:
    def __init__(self, uow: PipelineUnitOfWork, policy: AccessPolicy, embedder: Embedder) -> None:
        self._uow = uow
        self._policy = policy
        self._embedder = embedder

    async def execute(
        self,
        actor: User,
        query: str,
        *,
        limit: int,
        mode: SearchMode = SearchMode.HYBRID,
        resource_id: UUID | None = None,
    ) -> list[ChunkHit]:
        query = _valid_query(query)
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidValueError(field="limit", reason=f"must be from 1 to {MAX_LIMIT}")
        if not await self._policy.allows(actor, "read", PIPELINE, owner_id=actor.id):
            raise PermissionDeniedError()
        # In hybrid mode each ranking fused is as deep as the answer. Measured on the labelled
        # set (make bench, 85 queries): so, hybrid finds more than semantic search alone (recall@10
        # 0.975 against 0.961) at nearly its MRR (0.881 against 0.895); four times deeper, the
        # keyword ranking's tail brought noise in and hybrid fell below semantic on both.
        semantic: list[ChunkHit] = []
        keyword: list[ChunkHit] = []
        if mode is not SearchMode.KEYWORD:
            [vector] = await self._embedder.embed([query])
        async with self._uow as uow:
            if mode is not SearchMode.KEYWORD:
                semantic = await uow.chunk_vectors.nearest(
                    actor.id, self._embedder.model, vector, limit=limit, resource_id=resource_id
                )
            if mode is not SearchMode.SEMANTIC:
                keyword = await uow.pipeline_chunks.keyword_search(
                    actor.id, query, limit=limit, resource_id=resource_id
                )
        if mode is SearchMode.SEMANTIC:
            return semantic
        if mode is SearchMode.KEYWORD:
            return keyword
        return reciprocal_rank_fusion([semantic, keyword], limit=limit)


def _valid_query(query: str) -> str:
    stripped = query.strip()
    if not stripped:
        raise InvalidValueError(field="q", reason="must not be empty")
    if len(stripped) > QUERY_MAX_LENGTH:
        raise InvalidValueError(field="q", reason=f"must be at most {QUERY_MAX_LENGTH} characters")
    try:
        return reject_control_characters(stripped)
    except ValueError as exc:
        raise InvalidValueError(field="q", reason=str(exc)) from exc
