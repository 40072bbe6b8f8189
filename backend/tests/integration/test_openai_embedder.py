"""The real OpenAiCompatibleEmbedder (HTTPX, tenacity, the circuit breaker) against a local server
speaking OpenAI's protocol: nothing is mocked, every call crosses 127.0.0.1, and the server records
what arrived.
"""

from __future__ import annotations

import logging
import math
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

from app.application.errors import UpstreamError
from app.application.interfaces.pipeline import EmbeddingModel, ModelServiceUnavailableError
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker, CircuitState
from app.infrastructure.adapters.embedding.openai_compatible import OpenAiCompatibleEmbedder
from tests.openai_compatible_server import (
    DEFAULT_DIMENSION,
    EMBEDDINGS,
    OpenAiCompatibleServer,
    Scripted,
)

API_KEY = "sk-strata-test-0123456789abcdef"
MODEL_NAME = "test/embedder"
READ_TIMEOUT_SECONDS = 0.3

EmbedderFactory = Callable[..., OpenAiCompatibleEmbedder]


@pytest.fixture(scope="module")
def model_server() -> Iterator[OpenAiCompatibleServer]:
    server = OpenAiCompatibleServer(api_key=API_KEY).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_server(model_server: OpenAiCompatibleServer) -> None:
    model_server.reset()


@pytest_asyncio.fixture
async def make_embedder(model_server: OpenAiCompatibleServer) -> AsyncIterator[EmbedderFactory]:
    """Builds embedders on the local server (small retry delays, a lenient breaker unless told),
    and closes them after the test."""
    built: list[OpenAiCompatibleEmbedder] = []

    def build(**overrides: Any) -> OpenAiCompatibleEmbedder:
        settings: dict[str, Any] = {
            "base_url": model_server.url,
            "model_name": MODEL_NAME,
            "dimension": DEFAULT_DIMENSION,
            "api_key": API_KEY,
            "connect_timeout_seconds": 1.0,
            "read_timeout_seconds": 5.0,
            "max_retries": 2,
            "retry_base_delay_seconds": 0.01,
            "retry_max_delay_seconds": 0.05,
            "breaker": CircuitBreaker(failure_threshold=100, cooldown_seconds=30),
            "batch_size": 32,
            **overrides,
        }
        embedder = OpenAiCompatibleEmbedder(**settings)
        built.append(embedder)
        return embedder

    yield build
    for embedder in built:
        await embedder.close()


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(value * value for value in vector))
    return [value / norm for value in vector]


def assert_vectors_close(actual: list[list[float]], expected: list[list[float]]) -> None:
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-12)


def vectors_body(vectors: list[Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "data": [{"index": i, "embedding": vector} for i, vector in enumerate(vectors)],
        "model": MODEL_NAME,
    }


# ------------------------------------------------------------------------------------ answers
async def test_returns_unit_vectors_in_the_order_of_the_inputs(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    texts = ["first", "second text", "Grüße, 東京 🙂"]

    vectors = await make_embedder().embed(texts)

    # The server lists the vectors in reverse and not of unit length.
    assert_vectors_close(vectors, [unit(model_server.vector(text)) for text in texts])
    assert all(math.isclose(math.hypot(*vector), 1.0) for vector in vectors)
    [request] = model_server.requests(EMBEDDINGS)
    assert request.json() == {"model": MODEL_NAME, "input": texts}


async def test_sends_the_api_key_as_a_bearer_token(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    await make_embedder().embed(["hello"])

    [request] = model_server.requests(EMBEDDINGS)
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_sends_no_authorization_without_an_api_key_and_a_refusal_is_an_upstream_error(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)

    with pytest.raises(UpstreamError):
        await make_embedder(api_key=None, breaker=breaker).embed(["hello"])

    [request] = model_server.requests(EMBEDDINGS)  # a 401 is not retried
    assert "authorization" not in request.headers
    assert breaker.state is CircuitState.CLOSED  # the server answered: it is up


async def test_splits_more_texts_than_a_batch_into_requests_and_keeps_their_order(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    texts = [f"text number {n}" for n in range(7)]

    vectors = await make_embedder(batch_size=3).embed(texts)

    assert_vectors_close(vectors, [unit(model_server.vector(text)) for text in texts])
    assert [r.json()["input"] for r in model_server.requests(EMBEDDINGS)] == [
        texts[0:3],
        texts[3:6],
        texts[6:7],
    ]


async def test_embeds_nothing_without_a_request_and_refuses_an_empty_text(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    embedder = make_embedder()

    assert await embedder.embed([]) == []
    with pytest.raises(ValueError, match="empty text"):
        await embedder.embed(["fine", ""])
    assert model_server.requests() == []


async def test_takes_a_base_url_with_a_trailing_slash(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    await make_embedder(base_url=f"{model_server.url}/").embed(["hello"])

    assert [r.path for r in model_server.requests()] == [EMBEDDINGS]


def test_describes_its_model_and_limits(make_embedder: EmbedderFactory) -> None:
    embedder = make_embedder(batch_size=16, max_tokens=256)

    assert embedder.model == EmbeddingModel(MODEL_NAME, DEFAULT_DIMENSION)
    assert (embedder.batch_size, embedder.max_tokens) == (16, 256)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [("", 0), ("a", 1), ("abcdef", 2), ("The cat sits on the mat.", 8), ("東京", 2)],
)
def test_estimates_tokens_at_one_per_three_utf8_bytes(
    make_embedder: EmbedderFactory, text: str, tokens: int
) -> None:
    assert make_embedder().count_tokens(text) == tokens


# ------------------------------------------------------------------------- retries and refusals
@pytest.mark.parametrize("first_status", [500, 429, 503])
async def test_retries_a_server_failure_or_rate_limit_then_succeeds(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer, first_status: int
) -> None:
    model_server.fail_next(EMBEDDINGS, status=first_status)
    model_server.fail_next(EMBEDDINGS, status=502)

    vectors = await make_embedder().embed(["hello"])

    assert_vectors_close(vectors, [unit(model_server.vector("hello"))])
    assert len(model_server.requests(EMBEDDINGS)) == 3


@pytest.mark.parametrize("status", [400, 401, 404, 413, 422])
async def test_does_not_retry_a_refusal_and_raises_an_upstream_error(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer, status: int
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)
    model_server.fail_next(EMBEDDINGS, status=status)

    with pytest.raises(UpstreamError):
        await make_embedder(breaker=breaker).embed(["hello"])

    assert len(model_server.requests(EMBEDDINGS)) == 1
    assert breaker.state is CircuitState.CLOSED


async def test_gives_up_after_its_retries_with_the_servers_retry_after(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    model_server.then(
        EMBEDDINGS, *(Scripted(status=503, headers={"Retry-After": "30"}) for _ in range(3))
    )

    with pytest.raises(ModelServiceUnavailableError) as raised:
        await make_embedder(max_retries=2).embed(["hello"])

    assert raised.value.retry_after_seconds == 30
    assert len(model_server.requests(EMBEDDINGS)) == 3


async def test_a_read_timeout_is_unavailable_at_once_without_a_retry(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    model_server.delay_next(EMBEDDINGS, seconds=READ_TIMEOUT_SECONDS * 4)
    embedder = make_embedder(read_timeout_seconds=READ_TIMEOUT_SECONDS, max_retries=3)

    started = time.monotonic()
    with pytest.raises(ModelServiceUnavailableError) as raised:
        await embedder.embed(["slow"])

    assert time.monotonic() - started < READ_TIMEOUT_SECONDS * 3
    assert raised.value.retry_after_seconds >= 1
    assert len(model_server.requests(EMBEDDINGS)) == 1


async def test_retries_a_refused_connection_then_is_unavailable(
    make_embedder: EmbedderFactory,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)

    with pytest.raises(ModelServiceUnavailableError):
        await make_embedder(base_url=f"http://127.0.0.1:{closed_port}", breaker=breaker).embed(
            ["hello"]
        )

    assert breaker.state is CircuitState.OPEN


# ---------------------------------------------------------------------------- circuit breaker
async def test_the_breaker_opens_after_consecutive_failures_and_stops_calling(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30)
    embedder = make_embedder(breaker=breaker, max_retries=0)
    model_server.fail_next(EMBEDDINGS, count=2, status=500)

    for _ in range(2):
        with pytest.raises(ModelServiceUnavailableError):
            await embedder.embed(["hello"])
    with pytest.raises(ModelServiceUnavailableError) as refused:
        await embedder.embed(["hello"])

    assert len(model_server.requests(EMBEDDINGS)) == 2  # the third call never left
    assert 25 <= refused.value.retry_after_seconds <= 30


async def test_the_breaker_closes_again_after_a_successful_trial(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10, monotonic=lambda: now[0])
    embedder = make_embedder(breaker=breaker, max_retries=0)
    model_server.fail_next(EMBEDDINGS, status=500)
    with pytest.raises(ModelServiceUnavailableError):
        await embedder.embed(["hello"])
    states = [breaker.state]

    now[0] = 11.0
    assert len(await embedder.embed(["hello"])) == 1

    assert [*states, breaker.state] == [CircuitState.OPEN, CircuitState.CLOSED]
    assert len(model_server.requests(EMBEDDINGS)) == 2


# ---------------------------------------------------------------------------- unusable answers
@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("{not json", "not JSON"),
        ("[1, 2, 3]", "a list, not an object"),
        ({"object": "list"}, "no data"),
        (vectors_body([]), "fewer vectors than texts"),
        (vectors_body([[1.0] * DEFAULT_DIMENSION] * 2), "more vectors than texts"),
        (vectors_body([[1.0] * (DEFAULT_DIMENSION + 1)]), "another dimension"),
        (vectors_body([[1.0] * (DEFAULT_DIMENSION - 1)]), "a shorter vector"),
        (vectors_body([[0.0] * DEFAULT_DIMENSION]), "a zero vector"),
        (vectors_body([["1.0"] * DEFAULT_DIMENSION]), "strings for numbers"),
        (vectors_body([[True] * DEFAULT_DIMENSION]), "booleans for numbers"),
        (vectors_body(["not a list"]), "a string for a vector"),
        ({"data": [{"index": 1, "embedding": [1.0] * DEFAULT_DIMENSION}]}, "index out of range"),
        ({"data": [{"index": True, "embedding": [1.0] * DEFAULT_DIMENSION}]}, "a boolean index"),
        ({"data": [{"embedding": [1.0] * DEFAULT_DIMENSION}]}, "no index"),
        ({"data": ["not an object"]}, "an item that is not an object"),
        ('{"data": [{"index": 0, "embedding": [NaN, 1, 1, 1, 1, 1, 1, 1]}]}', "NaN"),
    ],
)
async def test_rejects_an_answer_it_cannot_use(
    make_embedder: EmbedderFactory,
    model_server: OpenAiCompatibleServer,
    body: Any,
    problem: str,
) -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=30)
    model_server.then(EMBEDDINGS, Scripted(status=200, body=body))

    with pytest.raises(UpstreamError):
        await make_embedder(breaker=breaker).embed(["one text"])

    assert len(model_server.requests(EMBEDDINGS)) == 1, problem
    assert breaker.state is CircuitState.OPEN, problem  # an unusable answer is a failure


async def test_rejects_two_vectors_with_the_same_index(
    make_embedder: EmbedderFactory, model_server: OpenAiCompatibleServer
) -> None:
    vector = [1.0] * DEFAULT_DIMENSION
    model_server.then(
        EMBEDDINGS,
        Scripted(
            status=200,
            body={"data": [{"index": 0, "embedding": vector}, {"index": 0, "embedding": vector}]},
        ),
    )

    with pytest.raises(UpstreamError):
        await make_embedder().embed(["one", "two"])


async def test_rejects_a_server_whose_model_has_another_dimension(
    make_embedder: EmbedderFactory,
) -> None:
    with pytest.raises(UpstreamError):
        await make_embedder(dimension=DEFAULT_DIMENSION * 2).embed(["hello"])


# --------------------------------------------------------------------------------------- logs
async def test_never_logs_the_api_key(
    make_embedder: EmbedderFactory,
    model_server: OpenAiCompatibleServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    model_server.fail_next(EMBEDDINGS, count=3, status=500)
    model_server.fail_next(EMBEDDINGS, status=401)
    embedder = make_embedder(max_retries=2)

    with pytest.raises(ModelServiceUnavailableError):
        await embedder.embed(["hello"])
    with pytest.raises(UpstreamError):
        await embedder.embed(["hello"])

    assert caplog.records
    for record in caplog.records:
        assert API_KEY not in record.getMessage()
        assert API_KEY not in repr(record.__dict__)
