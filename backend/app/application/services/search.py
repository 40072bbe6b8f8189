"""Hybrid retrieval: reciprocal rank fusion of the semantic and the keyword rankings.

RRF (Cormack, Clarke & Büttcher, 2009) scores a chunk by the sum, over the rankings that list
it, of 1 / (k + its rank there). It needs no calibration between cosine similarities and
full-text ranks, which are on unrelated scales; k = 60 is the constant of the original paper,
which damps the weight of the very first ranks so one list cannot decide alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.application.interfaces.pipeline import ChunkHit

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[ChunkHit]], *, limit: int, k: int = RRF_K
) -> list[ChunkHit]:
    """The chunks of all `rankings`, best fused score first (ties: the order first seen), each
    with its fused score."""
    scores: dict[tuple[UUID, int], float] = {}
    first_seen: dict[tuple[UUID, int], ChunkHit] = {}
    for ranking in rankings:
        for rank, hit in enumerate(ranking, start=1):
            key = (hit.chunk.run_id, hit.chunk.seq)
            scores[key] = scores.get(key, 0.0) + 1.0 / (k + rank)
            first_seen.setdefault(key, hit)
    order = sorted(scores, key=lambda key: -scores[key])  # stable: ties keep first-seen order
    return [ChunkHit(first_seen[key].chunk, scores[key]) for key in order[:limit]]
