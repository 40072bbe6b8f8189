"""The pipelines pass's figures as records: retrieval quality per database and mode, the
transcription's error and speed, the embed step's throughput, search latencies and the HNSW
index's recall, each with its JSON form (rounded as the results files keep it)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.pipelines.parameters import (
    CLUSTERS,
    HNSW_RECALL_QUERIES,
    NOISE,
    SEED,
    TOPIC_WORDS_PER_CHUNK,
    WORDS_PER_CHUNK,
)


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
    # Recall and call times of the index with the settings its code sets (latency.py).
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
