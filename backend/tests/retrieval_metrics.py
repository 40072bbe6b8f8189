"""How well a search ranks what it should: recall@k and reciprocal rank, and the labelled set
(`tests/data/retrieval/`) they are measured on.

Kept with the tests rather than in the app: they judge a search, they are not part of one. A
benchmark or a quality test ranks every passage for each query, then averages these per query.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RETRIEVAL_SET_DIR = Path(__file__).resolve().parent / "data" / "retrieval"
QUERY_KINDS = ("lexical", "mixed", "semantic")


@dataclass(frozen=True, slots=True)
class Passage:
    id: str
    source: str
    text: str


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    id: str
    query: str
    relevant: tuple[str, ...]
    kind: str  # how many of its words the relevant passages share: one of QUERY_KINDS


@dataclass(frozen=True, slots=True)
class RetrievalSet:
    passages: tuple[Passage, ...]
    queries: tuple[LabelledQuery, ...]


def load_retrieval_set(directory: Path = RETRIEVAL_SET_DIR) -> RetrievalSet:
    """The passages and the queries as stored, in file order (checked by the set's own test)."""
    passages = tuple(
        Passage(id=row["id"], source=row["source"], text=row["text"])
        for row in _json_lines(directory / "passages.jsonl")
    )
    queries = tuple(
        LabelledQuery(
            id=row["id"], query=row["query"], relevant=tuple(row["relevant"]), kind=row["kind"]
        )
        for row in _json_lines(directory / "queries.jsonl")
    )
    return RetrievalSet(passages, queries)


def recall_at_k(ranked_ids: Sequence[str], relevant: Collection[str], k: int) -> float:
    """The share of the relevant passages found among the first `k` ranked (a repeat counts once)."""
    if k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    wanted = set(relevant)
    if not wanted:
        raise ValueError("a query without relevant passages has no recall")
    return len(wanted.intersection(ranked_ids[:k])) / len(wanted)


def reciprocal_rank(ranked_ids: Sequence[str], relevant: Collection[str]) -> float:
    """1 / the rank of the first relevant passage, 0.0 when none is ranked."""
    wanted = set(relevant)
    if not wanted:
        raise ValueError("a query without relevant passages has no reciprocal rank")
    for rank, passage_id in enumerate(ranked_ids, start=1):
        if passage_id in wanted:
            return 1.0 / rank
    return 0.0


def _json_lines(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
