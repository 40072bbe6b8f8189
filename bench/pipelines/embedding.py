"""The query vectors of the pipelines pass: each labelled query embedded alone by MiniLM (timed:
the part of a search call that is the same on every database), and the `Embedder` search is
given, which answers known queries with vectors made beforehand so a timed call is the search
alone."""

from __future__ import annotations

import time
from collections.abc import Sequence

from app.application.interfaces.pipeline import EmbeddingModel
from app.infrastructure.adapters.embedding.minilm import MINILM, PackagedMiniLmEmbedder
from bench.pipelines.parameters import QUERY_EMBEDDING_ROUNDS


async def embed_queries(
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


class KnownVectors:
    """The `Embedder` search is given here: the vectors of known queries, made beforehand (by
    MiniLM, or synthetic), so a timed call is the search alone. The query embedding is timed on
    its own (`embed_queries`)."""

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
