"""The numeric half of the MiniLM embedder (minilm.py): the BERT encoder on NumPy. A module of its
own so that NumPy is imported when the model is first loaded, not when the app starts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

MINILM_DIMENSION = 384  # all-MiniLM-L6-v2's width (minilm.MINILM)

Floats = NDArray[np.float32]
Ints = NDArray[np.int64]


def padded(token_ids: list[list[int]]) -> tuple[Ints, Floats]:
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


class MiniLmEncoder:
    """The BERT encoder with sentence-transformers' mean pooling and normalisation on top."""

    def __init__(self, weights: dict[str, np.ndarray[Any, Any]], config: dict[str, Any]) -> None:
        if config["hidden_act"] != "gelu" or config["hidden_size"] != MINILM_DIMENSION:
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
