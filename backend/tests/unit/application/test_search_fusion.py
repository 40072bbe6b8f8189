"""Reciprocal rank fusion of the semantic and keyword rankings: exact scores with k = 60, a chunk
both methods find above those only one finds, stable ties, the limit, and empty rankings."""

from __future__ import annotations

from uuid import UUID

import pytest

from app.application.interfaces.pipeline import ChunkHit
from app.application.services.search import RRF_K, reciprocal_rank_fusion
from app.domain.entities.pipeline import Chunk
from app.domain.value_objects.identifiers import new_id

RUN = new_id()
OTHER_RUN = new_id()
OWNER = new_id()
RESOURCE = new_id()
FILE = new_id()


def chunk(seq: int, run_id: UUID = RUN) -> Chunk:
    return Chunk(
        run_id=run_id,
        seq=seq,
        owner_id=OWNER,
        resource_id=RESOURCE,
        file_id=FILE,
        text=f"chunk {seq}",
        start=seq * 10,
        end=seq * 10 + 7,
    )


def ranking(*seqs: int, run_id: UUID = RUN) -> list[ChunkHit]:
    """Hits in this order, with scores on a scale of their own (fusion must ignore them)."""
    return [ChunkHit(chunk(seq, run_id), 1000.0 - rank) for rank, seq in enumerate(seqs)]


def keys(hits: list[ChunkHit]) -> list[tuple[UUID, int]]:
    return [(hit.chunk.run_id, hit.chunk.seq) for hit in hits]


def test_k_is_the_constant_of_the_original_paper() -> None:
    assert RRF_K == 60


def test_each_chunk_scores_the_sum_of_one_over_k_plus_its_rank_in_each_ranking() -> None:
    fused = reciprocal_rank_fusion([ranking(1, 2, 3), ranking(3, 4)], limit=10)

    scores = {hit.chunk.seq: hit.score for hit in fused}
    assert scores == pytest.approx(
        {
            1: 1 / 61,
            2: 1 / 62,
            3: 1 / 63 + 1 / 61,
            4: 1 / 62,
        },
        rel=1e-12,
    )
    assert [hit.chunk.seq for hit in fused] == [3, 1, 2, 4]


def test_a_chunk_both_rankings_list_beats_those_only_one_lists_at_similar_ranks() -> None:
    semantic = ranking(10, 11, 12, 13)
    keyword = ranking(20, 21, 12, 23)

    fused = reciprocal_rank_fusion([semantic, keyword], limit=3)

    assert fused[0].chunk.seq == 12  # third in both, first fused
    assert fused[0].score == pytest.approx(2 / 63)
    assert {hit.chunk.seq for hit in fused[1:]} == {10, 20}


def test_the_input_scores_play_no_part() -> None:
    semantic = [ChunkHit(chunk(1), 0.01), ChunkHit(chunk(2), 0.009)]
    keyword = [ChunkHit(chunk(3), 9999.0)]

    fused = reciprocal_rank_fusion([semantic, keyword], limit=10)

    assert [hit.chunk.seq for hit in fused] == [1, 3, 2]
    assert fused[0].score == fused[1].score == pytest.approx(1 / 61)


def test_ties_keep_the_order_in_which_chunks_were_first_seen() -> None:
    fused = reciprocal_rank_fusion([ranking(5, 6, 7), ranking(8, 9, 4)], limit=10)

    # Equal pairs (5, 8), (6, 9), (7, 4): the first ranking's chunk came first each time.
    assert [hit.chunk.seq for hit in fused] == [5, 8, 6, 9, 7, 4]


def test_a_chunk_is_known_by_its_run_and_sequence_number() -> None:
    fused = reciprocal_rank_fusion([ranking(1, run_id=RUN), ranking(1, run_id=OTHER_RUN)], limit=10)

    assert keys(fused) == [(RUN, 1), (OTHER_RUN, 1)]
    assert all(hit.score == pytest.approx(1 / 61) for hit in fused)


def test_the_hit_keeps_the_chunk_first_seen() -> None:
    semantic = ranking(1)
    keyword = [ChunkHit(chunk(1), 3.0)]

    [fused] = reciprocal_rank_fusion([semantic, keyword], limit=10)

    assert fused.chunk is semantic[0].chunk
    assert fused.score == pytest.approx(2 / 61)


@pytest.mark.parametrize("limit", [0, 1, 2, 5])
def test_no_more_hits_than_the_limit_are_returned_the_best_first(limit: int) -> None:
    fused = reciprocal_rank_fusion([ranking(1, 2, 3, 4), ranking(4, 3)], limit=limit)

    everything = reciprocal_rank_fusion([ranking(1, 2, 3, 4), ranking(4, 3)], limit=100)
    assert fused == everything[:limit]
    # 4: 1/61 + 1/64 edges out 3: 1/62 + 1/63.
    assert [hit.chunk.seq for hit in everything] == [4, 3, 1, 2]
    assert len(fused) == min(limit, 4)


def test_a_smaller_k_gives_the_top_ranks_more_weight() -> None:
    fused = reciprocal_rank_fusion([ranking(1, 2)], limit=10, k=0)
    assert [hit.score for hit in fused] == [1.0, 0.5]


@pytest.mark.parametrize("rankings", [[], [[]], [[], []]])
def test_nothing_to_fuse_fuses_to_nothing(rankings: list[list[ChunkHit]]) -> None:
    assert reciprocal_rank_fusion(rankings, limit=10) == []


def test_one_empty_ranking_leaves_the_other_in_its_order() -> None:
    fused = reciprocal_rank_fusion([[], ranking(7, 3, 9)], limit=10)

    assert [hit.chunk.seq for hit in fused] == [7, 3, 9]
    assert [hit.score for hit in fused] == pytest.approx([1 / 61, 1 / 62, 1 / 63])
