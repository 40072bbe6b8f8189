"""The search-quality measures on small exact cases, and the labelled retrieval set's shape."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from tests.retrieval_metrics import (
    QUERY_KINDS,
    RetrievalSet,
    load_retrieval_set,
    recall_at_k,
    reciprocal_rank,
)

RANKING = ["p1", "p2", "p3", "p4", "p5"]


@pytest.mark.parametrize(
    ("relevant", "k", "expected"),
    [
        ({"p1"}, 1, 1.0),
        ({"p2"}, 1, 0.0),
        ({"p2"}, 2, 1.0),
        ({"p2", "p9"}, 5, 0.5),
        ({"p1", "p3", "p5"}, 3, 2 / 3),
        ({"p5"}, 100, 1.0),  # k beyond the ranking
        ({"p9"}, 5, 0.0),
    ],
)
def test_recall_at_k_is_the_share_of_relevant_passages_in_the_top_k(
    relevant: set[str], k: int, expected: float
) -> None:
    assert recall_at_k(RANKING, relevant, k) == pytest.approx(expected)


def test_recall_counts_a_passage_ranked_twice_once() -> None:
    assert recall_at_k(["p1", "p1", "p1"], ["p1", "p2"], 3) == 0.5


def test_recall_of_an_empty_ranking_is_zero() -> None:
    assert recall_at_k([], {"p1"}, 10) == 0.0


@pytest.mark.parametrize("k", [0, -1])
def test_recall_refuses_a_k_below_one(k: int) -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        recall_at_k(RANKING, {"p1"}, k)


@pytest.mark.parametrize(
    ("relevant", "expected"),
    [
        ({"p1"}, 1.0),
        ({"p3"}, 1 / 3),
        ({"p4", "p2"}, 0.5),  # the first relevant one counts
        ({"p9"}, 0.0),
    ],
)
def test_reciprocal_rank_is_one_over_the_first_relevant_rank(
    relevant: set[str], expected: float
) -> None:
    assert reciprocal_rank(RANKING, relevant) == pytest.approx(expected)


def test_reciprocal_rank_of_an_empty_ranking_is_zero() -> None:
    assert reciprocal_rank([], {"p1"}) == 0.0


def test_both_measures_refuse_a_query_without_relevant_passages() -> None:
    with pytest.raises(ValueError, match="without relevant passages"):
        recall_at_k(RANKING, set(), 3)
    with pytest.raises(ValueError, match="without relevant passages"):
        reciprocal_rank(RANKING, [])


# ---------------------------------------------------------------- the labelled set


@pytest.fixture(scope="module")
def retrieval_set() -> RetrievalSet:
    return load_retrieval_set()


def test_the_set_is_large_enough(retrieval_set: RetrievalSet) -> None:
    assert len(retrieval_set.passages) >= 200
    assert len(retrieval_set.queries) >= 50


def test_ids_are_unique(retrieval_set: RetrievalSet) -> None:
    passage_ids = Counter(passage.id for passage in retrieval_set.passages)
    query_ids = Counter(query.id for query in retrieval_set.queries)
    assert [i for i, n in passage_ids.items() if n > 1] == []
    assert [i for i, n in query_ids.items() if n > 1] == []


def test_every_query_names_one_to_three_existing_passages(retrieval_set: RetrievalSet) -> None:
    passage_ids = {passage.id for passage in retrieval_set.passages}
    for query in retrieval_set.queries:
        assert 1 <= len(query.relevant) <= 3, query.id
        assert len(set(query.relevant)) == len(query.relevant), query.id
        assert set(query.relevant) <= passage_ids, query.id


def test_passages_are_40_to_150_words_of_clean_text(retrieval_set: RetrievalSet) -> None:
    for passage in retrieval_set.passages:
        assert 40 <= len(passage.text.split()) <= 150, passage.id
        assert passage.text == passage.text.strip(), passage.id
        assert not re.search(r"\s{2,}|[{}]", passage.text), passage.id
        assert passage.source, passage.id


def test_queries_are_distinct_and_not_copied_whole_from_a_passage(
    retrieval_set: RetrievalSet,
) -> None:
    texts = [query.query.lower() for query in retrieval_set.queries]
    assert len(set(texts)) == len(texts)
    passages = {passage.id: passage.text.lower() for passage in retrieval_set.passages}
    for query in retrieval_set.queries:
        for passage_id in query.relevant:
            assert query.query.lower() not in passages[passage_id], query.id


def test_the_queries_mix_keyword_and_paraphrase_and_the_passages_several_works(
    retrieval_set: RetrievalSet,
) -> None:
    kinds = Counter(query.kind for query in retrieval_set.queries)
    assert set(kinds) == set(QUERY_KINDS)
    assert min(kinds.values()) >= len(retrieval_set.queries) // 5
    works = Counter(passage.id.split("-")[0] for passage in retrieval_set.passages)
    assert len(works) >= 3
    assert max(works.values()) <= len(retrieval_set.passages) // 2
    queried_works = {
        passage_id.split("-")[0] for query in retrieval_set.queries for passage_id in query.relevant
    }
    assert queried_works == set(works)
