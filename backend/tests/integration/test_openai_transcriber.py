"""The OpenAI-compatible transcriber against a real local server speaking the protocol: the
multipart body it sends, its retries (on 5xx, 429 and refused connections; never on a 4xx or a
read timeout), its timeouts and its circuit breaker."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from app.application.interfaces.pipeline import (
    MediaUnreadableError,
    ModelServiceUnavailableError,
    UnsupportedPipelineMediaError,
)
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.transcription.openai_compatible import OpenAiCompatibleTranscriber
from tests.openai_transcription_server import OpenAiTranscriptionServer, Scripted

SPEECH = Path(__file__).parents[1] / "data" / "speech"
AUDIO = (SPEECH / "02_please_close_the.flac").read_bytes()
API_KEY = "sk-test-transcription-0123456789abcdef"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[OpenAiTranscriptionServer]:
    running = OpenAiTranscriptionServer().start()
    yield running
    running.stop()


@pytest.fixture
def model_server(server: OpenAiTranscriptionServer) -> OpenAiTranscriptionServer:
    server.reset(transcript="please close the door", api_key=API_KEY)
    return server


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown_seconds=30, monotonic=clock)


def make_transcriber(
    base_url: str,
    breaker: CircuitBreaker,
    *,
    api_key: str | None = API_KEY,
    read_timeout_seconds: float = 5.0,
    max_retries: int = 2,
    language: str | None = None,
) -> OpenAiCompatibleTranscriber:
    return OpenAiCompatibleTranscriber(
        base_url=base_url,
        model="whisper-1",
        api_key=api_key,
        connect_timeout_seconds=1.0,
        read_timeout_seconds=read_timeout_seconds,
        max_retries=max_retries,
        retry_base_delay_seconds=0.01,
        retry_max_delay_seconds=0.05,
        breaker=breaker,
        language=language,
    )


@pytest_asyncio.fixture
async def transcriber(
    model_server: OpenAiTranscriptionServer, breaker: CircuitBreaker
) -> AsyncIterator[OpenAiCompatibleTranscriber]:
    adapter = make_transcriber(model_server.base_url + "/", breaker)
    yield adapter
    await adapter.close()


async def test_sends_the_audio_as_multipart_with_the_model_and_json_format(
    transcriber: OpenAiCompatibleTranscriber, model_server: OpenAiTranscriptionServer
) -> None:
    text = await transcriber.transcribe(AUDIO, "audio/flac")

    assert text == "please close the door"
    [request] = model_server.requests
    assert request.fields == {"model": "whisper-1", "response_format": "json"}
    assert request.file == AUDIO
    assert request.file_name == "audio.flac"
    assert request.file_content_type == "audio/flac"
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")


@pytest.mark.parametrize(
    ("media_type", "file_name"),
    [
        ("audio/wav", "audio.wav"),
        ("audio/x-wav", "audio.wav"),
        ("audio/ogg", "audio.ogg"),
        ("audio/mpeg", "audio.mp3"),
        ("Audio/FLAC; foo=bar", "audio.flac"),
    ],
)
async def test_names_the_file_part_with_the_extension_of_its_type(
    transcriber: OpenAiCompatibleTranscriber,
    model_server: OpenAiTranscriptionServer,
    media_type: str,
    file_name: str,
) -> None:
    await transcriber.transcribe(AUDIO, media_type)

    assert model_server.requests[0].file_name == file_name


async def test_sends_the_language_when_one_is_set_and_no_key_when_none_is(
    model_server: OpenAiTranscriptionServer, breaker: CircuitBreaker
) -> None:
    model_server.reset(transcript="bonjour")
    adapter = make_transcriber(model_server.base_url, breaker, api_key=None, language="fr")
    try:
        assert await adapter.transcribe(AUDIO, "audio/flac") == "bonjour"
    finally:
        await adapter.close()

    [request] = model_server.requests
    assert request.fields["language"] == "fr"
    assert "authorization" not in request.headers


async def test_refuses_a_type_that_is_not_audio_without_calling_the_server(
    transcriber: OpenAiCompatibleTranscriber, model_server: OpenAiTranscriptionServer
) -> None:
    with pytest.raises(UnsupportedPipelineMediaError):
        await transcriber.transcribe(b"%PDF-1.7", "application/pdf")

    assert model_server.requests == []


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_retries_a_server_failure_and_returns_the_text_that_follows(
    transcriber: OpenAiCompatibleTranscriber,
    model_server: OpenAiTranscriptionServer,
    breaker: CircuitBreaker,
    status: int,
) -> None:
    model_server.script(Scripted(status=status), Scripted(status=status))

    assert await transcriber.transcribe(AUDIO, "audio/flac") == "please close the door"

    assert len(model_server.requests) == 3
    assert all(request.file == AUDIO for request in model_server.requests)
    assert breaker.state == "closed"


async def test_gives_up_after_its_retries_with_the_servers_retry_after(
    transcriber: OpenAiCompatibleTranscriber, model_server: OpenAiTranscriptionServer
) -> None:
    model_server.script(*[Scripted(status=429, headers={"Retry-After": "17"})] * 3)

    with pytest.raises(ModelServiceUnavailableError) as raised:
        await transcriber.transcribe(AUDIO, "audio/flac")

    assert raised.value.retry_after_seconds == 17
    assert len(model_server.requests) == 3  # max_retries=2: three attempts, no more


@pytest.mark.parametrize("status", [400, 413, 415, 422])
async def test_a_refusal_of_the_audio_is_unreadable_media_without_a_retry(
    transcriber: OpenAiCompatibleTranscriber,
    model_server: OpenAiTranscriptionServer,
    breaker: CircuitBreaker,
    status: int,
) -> None:
    model_server.script(*[Scripted(status=status)] * 3)

    with pytest.raises(MediaUnreadableError) as raised:
        await transcriber.transcribe(AUDIO, "audio/flac")

    assert str(status) in raised.value.params["reason"]
    assert len(model_server.requests) == 1
    assert breaker.state == "closed"


async def test_a_refused_key_is_unavailable_without_a_retry_and_the_key_is_never_logged(
    model_server: OpenAiTranscriptionServer,
    breaker: CircuitBreaker,
    caplog: pytest.LogCaptureFixture,
) -> None:
    adapter = make_transcriber(model_server.base_url, breaker, api_key="sk-wrong-key-4242")
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(ModelServiceUnavailableError):
            await adapter.transcribe(AUDIO, "audio/flac")
    finally:
        await adapter.close()

    assert len(model_server.requests) == 1
    assert any("refused our key" in record.getMessage() for record in caplog.records)
    logged = "\n".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "sk-wrong-key-4242" not in logged


@pytest.mark.parametrize("body", ["<html>oops</html>", {"transcript": "x"}, {"text": 42}, [1]])
async def test_an_answer_without_text_is_unavailable(
    transcriber: OpenAiCompatibleTranscriber,
    model_server: OpenAiTranscriptionServer,
    body: object,
) -> None:
    model_server.script(Scripted(status=200, body=body))

    with pytest.raises(ModelServiceUnavailableError):
        await transcriber.transcribe(AUDIO, "audio/flac")

    assert len(model_server.requests) == 1


async def test_a_read_timeout_is_unavailable_at_once_without_a_retry(
    model_server: OpenAiTranscriptionServer, breaker: CircuitBreaker
) -> None:
    model_server.script(Scripted(status=200, body={"text": "late"}, delay_seconds=1.5))
    adapter = make_transcriber(model_server.base_url, breaker, read_timeout_seconds=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(ModelServiceUnavailableError):
            await adapter.transcribe(AUDIO, "audio/flac")
    finally:
        await adapter.close()

    assert time.monotonic() - started < 1.2
    assert len(model_server.requests) == 1


async def test_a_server_that_is_not_listening_is_retried_then_unavailable(
    breaker: CircuitBreaker,
) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    adapter = make_transcriber(f"http://127.0.0.1:{port}", breaker)
    try:
        with pytest.raises(ModelServiceUnavailableError) as raised:
            await adapter.transcribe(AUDIO, "audio/flac")
    finally:
        await adapter.close()

    assert raised.value.retry_after_seconds >= 1


async def test_the_circuit_opens_after_failed_calls_and_a_trial_after_the_cooldown_closes_it(
    model_server: OpenAiTranscriptionServer, clock: ManualClock
) -> None:
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30, monotonic=clock)
    adapter = make_transcriber(model_server.base_url, breaker, max_retries=0)
    model_server.script(Scripted(status=500), Scripted(status=503))
    try:
        for _ in range(2):
            with pytest.raises(ModelServiceUnavailableError):
                await adapter.transcribe(AUDIO, "audio/flac")
        with pytest.raises(ModelServiceUnavailableError) as refused:
            await adapter.transcribe(AUDIO, "audio/flac")
        assert len(model_server.requests) == 2  # the open circuit never called the server
        assert refused.value.retry_after_seconds == 30

        clock.now += 31
        assert await adapter.transcribe(AUDIO, "audio/flac") == "please close the door"
    finally:
        await adapter.close()

    assert len(model_server.requests) == 3
    assert breaker.state == "closed"
