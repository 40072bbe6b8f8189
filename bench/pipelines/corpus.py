"""The synthetic corpus of the latency runs. Embedding 100,000 real texts would take half an hour
here, so these chunks are clustered unit vectors with text drawn from the labelled passages'
words."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
from numpy.typing import NDArray

from app.infrastructure.adapters.embedding.minilm import MINILM
from bench.pipelines.parameters import (
    CLUSTERS,
    NOISE,
    TOPIC_SIZE,
    TOPIC_WORDS_PER_CHUNK,
    WORDS_PER_CHUNK,
)

Floats = NDArray[np.float32]
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True, slots=True)
class SyntheticCorpus:
    """Chunks for the latency runs: unit vectors in clusters (CLUSTERS random centres, each
    chunk its centre plus noise of norm NOISE, normalised), and texts of words drawn from the
    labelled passages: WORDS_PER_CHUNK by their frequency there (stop words included) and
    TOPIC_WORDS_PER_CHUNK from its cluster's own TOPIC_SIZE words. A query is a cluster's centre
    plus noise, and two of its topic words with two words by frequency."""

    vectors: Floats
    texts: list[str]
    centres: Floats
    topics: NDArray[np.int64]
    vocabulary: NDArray[np.str_]
    frequency: NDArray[np.float64]

    @classmethod
    def build(cls, size: int, passages: Sequence[str], rng: np.random.Generator) -> SyntheticCorpus:
        counts = Counter(word for passage in passages for word in _WORD.findall(passage.lower()))
        vocabulary = np.array(sorted(counts))
        frequency = np.array([counts[word] for word in vocabulary], dtype=np.float64)
        frequency /= frequency.sum()
        content = np.array([i for i, word in enumerate(vocabulary) if len(word) >= 5])
        topics = rng.choice(content, size=(CLUSTERS, TOPIC_SIZE))
        centres = _unit(rng.standard_normal((CLUSTERS, MINILM.dimension), dtype=np.float32))
        cluster = rng.integers(0, CLUSTERS, size)
        vectors = _unit(centres[cluster] + _noise(rng, size))
        general = rng.choice(len(vocabulary), size=(size, WORDS_PER_CHUNK), p=frequency)
        topical = topics[
            cluster[:, None], rng.integers(0, TOPIC_SIZE, (size, TOPIC_WORDS_PER_CHUNK))
        ]
        words = vocabulary[np.concatenate([general, topical], axis=1)]
        texts = [" ".join(row) for row in words.tolist()]
        return cls(vectors, texts, centres, topics, vocabulary, frequency)

    def queries(self, count: int, rng: np.random.Generator) -> list[tuple[str, list[float]]]:
        cluster = rng.integers(0, CLUSTERS, count)
        vectors = _unit(self.centres[cluster] + _noise(rng, count))
        topical = self.topics[cluster[:, None], rng.integers(0, TOPIC_SIZE, (count, 2))]
        general = rng.choice(len(self.vocabulary), size=(count, 2), p=self.frequency)
        words = self.vocabulary[np.concatenate([topical, general], axis=1)].tolist()
        return [
            (" ".join(row), vector.tolist()) for row, vector in zip(words, vectors, strict=True)
        ]


def _noise(rng: np.random.Generator, count: int) -> Floats:
    noise = rng.standard_normal((count, MINILM.dimension), dtype=np.float32)
    return cast(Floats, noise * np.float32(NOISE / math.sqrt(MINILM.dimension)))


def _unit(matrix: Floats) -> Floats:
    return cast(Floats, (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32))
