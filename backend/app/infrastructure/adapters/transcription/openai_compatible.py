"""Any server speaking OpenAI's `POST /v1/audio/transcriptions`: OpenAI itself, faster-whisper and
whisper.cpp servers, LocalAI, vLLM, and others.

The request is multipart (`file`, `model`, `response_format=json`, optionally `language`) and the
answer `{"text": ...}`. The file part is named with the extension of its type, since some servers
(OpenAI among them) go by the name.

Every call has connect and read timeouts, goes through a circuit breaker, and is retried with
exponential backoff and full jitter on network errors, 429 and 5xx only: never on a 4xx, which
would fail again, nor on a read timeout, which would make the caller wait past its bound again
(the server may still be working on the first request). 400, 413, 415 and 422 refuse the audio
itself: MediaUnreadableError, and the server counts as up. Anything else (a failure, a timeout, an
open circuit, a key the server refuses, an answer we cannot read) is ModelServiceUnavailableError,
with when to try again. The key is sent as a bearer token and never logged; neither is the
server's error body, which may quote the request.
"""

from __future__ import annotations

import logging

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.application.errors import ApplicationError
from app.application.interfaces.pipeline import (
    MediaUnreadableError,
    ModelServiceUnavailableError,
    UnsupportedPipelineMediaError,
)
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker, CircuitOpenError
from app.infrastructure.adapters.transcription.audio import media_type_essence

logger = logging.getLogger("strata.pipeline.transcription")
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
# What a refusal of the audio itself looks like: sending it again will not help.
_AUDIO_REFUSED = frozenset({400, 413, 415, 422})
_DEFAULT_RETRY_AFTER_SECONDS = 5
_FILE_NAMES = {
    "audio/wav": "audio.wav",
    "audio/x-wav": "audio.wav",
    "audio/flac": "audio.flac",
    "audio/ogg": "audio.ogg",
    "audio/mpeg": "audio.mp3",
}


class _ServerFailedError(Exception):
    """A 429 or 5xx: worth another attempt."""

    def __init__(self, status: int, retry_after_seconds: int) -> None:
        super().__init__(f"the model server answered {status}")
        self.status = status
        self.retry_after_seconds = retry_after_seconds


class OpenAiCompatibleTranscriber:
    """`Transcriber` port over HTTP."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
        max_retries: int,
        retry_base_delay_seconds: float,
        retry_max_delay_seconds: float,
        breaker: CircuitBreaker,
        language: str | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(read_timeout_seconds, connect=connect_timeout_seconds),
        )
        self._model = model
        self._language = language
        self._attempts = max_retries + 1
        self._wait = wait_random_exponential(
            multiplier=retry_base_delay_seconds, max=retry_max_delay_seconds
        )
        self._breaker = breaker

    @property
    def name(self) -> str:
        return f"openai-compatible:{self._model}"

    async def transcribe(self, audio: bytes, media_type: str) -> str:
        fields, files = self._multipart(audio, media_type)
        try:
            self._breaker.before_call()
        except CircuitOpenError as exc:
            raise ModelServiceUnavailableError(exc.retry_after_seconds) from None
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=self._wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            ):
                with attempt:
                    response = await self._http.post(TRANSCRIPTIONS_PATH, data=fields, files=files)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _ServerFailedError(response.status_code, _retry_after(response))
        except (httpx.HTTPError, _ServerFailedError) as exc:
            self._breaker.record_failure()
            raise _unavailable(exc) from None
        except BaseException:
            self._breaker.record_abandoned()
            raise
        return self._read(response)

    def _multipart(
        self, audio: bytes, media_type: str
    ) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
        essence = media_type_essence(media_type)
        file_name = _FILE_NAMES.get(essence)
        if file_name is None:
            raise UnsupportedPipelineMediaError(media_type=media_type)
        fields = {"model": self._model, "response_format": "json"}
        if self._language:
            fields["language"] = self._language
        return fields, {"file": (file_name, audio, essence)}

    async def close(self) -> None:
        await self._http.aclose()

    def _read(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in _AUDIO_REFUSED:
            self._breaker.record_success()  # a refusal is an answer: the server is up
            logger.info("the model server refused the audio", extra={"http_status": status})
            raise MediaUnreadableError(
                reason=f"the transcription server refused the audio ({status})"
            )
        text = _text(response) if status == 200 else None
        if text is None:
            self._breaker.record_failure()
            if status in (401, 403):
                logger.error("the model server refused our key: check the transcription API key")
            else:
                logger.warning(
                    "the model server answered what we cannot read", extra={"http_status": status}
                )
            raise ModelServiceUnavailableError(_DEFAULT_RETRY_AFTER_SECONDS)
        self._breaker.record_success()
        return text.strip()


def _is_transient(exc: BaseException) -> bool:
    """Worth another attempt: the request never reached the server (or the connection broke
    before an answer), or the server asked us to slow down or failed. Not a read timeout."""
    if isinstance(exc, _ServerFailedError):
        return True
    if isinstance(exc, httpx.TimeoutException):
        return isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
    return isinstance(exc, httpx.TransportError)


def _retry_after(response: httpx.Response) -> int:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else _DEFAULT_RETRY_AFTER_SECONDS


def _unavailable(exc: BaseException) -> ApplicationError:
    retry_after = (
        exc.retry_after_seconds
        if isinstance(exc, _ServerFailedError)
        else _DEFAULT_RETRY_AFTER_SECONDS
    )
    logger.warning(
        "the model server failed",
        extra={
            "error": type(exc).__name__,
            "http_status": exc.status if isinstance(exc, _ServerFailedError) else None,
        },
    )
    return ModelServiceUnavailableError(retry_after)


def _text(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    text = body.get("text") if isinstance(body, dict) else None
    return text if isinstance(text, str) else None
