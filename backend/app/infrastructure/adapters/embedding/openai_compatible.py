"""An embedding model behind OpenAI's `POST /v1/embeddings` protocol (vLLM, text-embeddings-inference,
Ollama, llama.cpp's server, OpenAI itself), over HTTPX.

Timeouts, retries and the circuit breaker are the model server client's (`model_server.py`).
What a later retry may fix (a failure, a timeout, an open circuit) is ModelServiceUnavailableError:
the pipeline tries the step again later. What it will not fix is UpstreamError (502): the server
refused the request (a 4xx other than 429: a wrong model name, a text too long, a rejected API key)
or answered what we cannot use (not JSON, vectors missing, of another dimension, or zero). A refusal
counts as a success for the breaker (the server is up and answering); an unusable answer counts as a
failure.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

import httpx

from app.application.errors import UpstreamError
from app.application.interfaces.pipeline import EmbeddingModel
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.model_server import ModelServerClient

logger = logging.getLogger("strata.pipeline.embedding")
EMBEDDINGS_PATH = "/v1/embeddings"
_BYTES_PER_TOKEN = 3


class _UnusableAnswerError(Exception):
    """A 2xx whose body is not a list of vectors we can use."""


class OpenAiCompatibleEmbedder:
    def __init__(
        self,
        *,
        base_url: str,
        model_name: str,
        dimension: int,
        api_key: str | None,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
        max_retries: int,
        retry_base_delay_seconds: float,
        retry_max_delay_seconds: float,
        breaker: CircuitBreaker,
        batch_size: int = 32,
        max_tokens: int = 512,
    ) -> None:
        if dimension < 1 or batch_size < 1 or max_tokens < 1:
            raise ValueError("dimension, batch_size and max_tokens must be at least 1")
        self._server = ModelServerClient(
            name="embedding server",
            base_url=base_url,
            api_key=api_key,
            connect_timeout_seconds=connect_timeout_seconds,
            read_timeout_seconds=read_timeout_seconds,
            max_retries=max_retries,
            retry_base_delay_seconds=retry_base_delay_seconds,
            retry_max_delay_seconds=retry_max_delay_seconds,
            breaker=breaker,
        )
        self._model = EmbeddingModel(model_name, dimension)
        self._batch_size = batch_size
        self._max_tokens = max_tokens

    @property
    def model(self) -> EmbeddingModel:
        return self._model

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def count_tokens(self, text: str) -> int:
        # The protocol has no tokeniser endpoint, so an estimate that errs high: one token per
        # three UTF-8 bytes (English runs about four characters a token; CJK three bytes a
        # character and about a token each), so a chunk counted within max_tokens fits.
        return math.ceil(len(text.encode("utf-8")) / _BYTES_PER_TOKEN)

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if any(not text for text in texts):
            raise ValueError("cannot embed an empty text")
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed_batch(list(texts[start : start + self._batch_size])))
        return vectors

    async def close(self) -> None:
        await self._server.close()

    async def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        response = await self._server.post(
            EMBEDDINGS_PATH, json={"model": self._model.name, "input": texts}
        )
        if not response.is_success:
            self._server.answered()  # a refusal is an answer: the server is up
            raise _refusal(response, self._model.name)
        try:
            vectors = _unit_vectors(response, len(texts), self._model.dimension)
        except _UnusableAnswerError as exc:
            self._server.answered_unusable()
            logger.warning(
                "embedding server answered what we cannot use",
                extra={"problem": str(exc), "model": self._model.name},
            )
            raise UpstreamError() from None
        self._server.answered()
        return vectors


def _refusal(response: httpx.Response, model_name: str) -> UpstreamError:
    # The status is what an operator needs; the body may quote the request, so it stays out.
    level = logging.ERROR if response.status_code in (401, 403) else logging.WARNING
    logger.log(
        level,
        "embedding server refused the request: check the model name, the API key and max_tokens",
        extra={"http_status": response.status_code, "model": model_name},
    )
    return UpstreamError()


def _unit_vectors(response: httpx.Response, count: int, dimension: int) -> list[list[float]]:
    """The answer's vectors in the order of the inputs (by `index`), scaled to unit length."""
    try:
        body = response.json()
    except ValueError:
        raise _UnusableAnswerError("the body is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list) or len(data) != count:
        raise _UnusableAnswerError(f"expected {count} embeddings in `data`")
    by_index: dict[int, Any] = {}
    for item in data:
        index = item.get("index") if isinstance(item, dict) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            raise _UnusableAnswerError("an embedding without a valid `index`")
        by_index[index] = item.get("embedding")
    if len(by_index) != count:
        raise _UnusableAnswerError("two embeddings with the same `index`")
    rows = [by_index[index] for index in range(count)]
    if not all(_is_vector(row, dimension) for row in rows):
        raise _UnusableAnswerError(f"an embedding that is not {dimension} numbers")
    import numpy as np  # noqa: PLC0415  (on the first answer: the app starts without NumPy)

    vectors = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    if not np.all(np.isfinite(vectors)) or not np.all(norms > 0):
        raise _UnusableAnswerError("an embedding that is zero or not finite")
    return (vectors / norms).tolist()  # type: ignore[no-any-return]


def _is_vector(row: object, dimension: int) -> bool:
    return (
        isinstance(row, list)
        and len(row) == dimension
        and all(isinstance(value, int | float) and not isinstance(value, bool) for value in row)
    )
