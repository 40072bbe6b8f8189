"""Any server speaking OpenAI's `POST /v1/audio/transcriptions`: OpenAI itself, faster-whisper and
whisper.cpp servers, LocalAI, vLLM, and others.

The request is multipart (`file`, `model`, `response_format=json`, optionally `language`) and the
answer `{"text": ...}`. The file part is named with the extension of its type, since some servers
(OpenAI among them) go by the name.

Timeouts, retries and the circuit breaker are the model server client's (`model_server.py`).
400, 413, 415 and 422 refuse the audio itself: MediaUnreadableError, and the server counts as up.
Anything else (a failure, a timeout, an open circuit, a key the server refuses, an answer we cannot
read) is ModelServiceUnavailableError, with when to try again.
"""

from __future__ import annotations

import logging

import httpx

from app.application.interfaces.pipeline import (
    MediaUnreadableError,
    ModelServiceUnavailableError,
    UnsupportedPipelineMediaError,
)
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker
from app.infrastructure.adapters.model_server import DEFAULT_RETRY_AFTER_SECONDS, ModelServerClient
from app.infrastructure.adapters.transcription.audio import media_type_essence

logger = logging.getLogger("strata.pipeline.transcription")
TRANSCRIPTIONS_PATH = "/v1/audio/transcriptions"
# What a refusal of the audio itself looks like: sending it again will not help.
_AUDIO_REFUSED = frozenset({400, 413, 415, 422})
_FILE_NAMES = {
    "audio/wav": "audio.wav",
    "audio/x-wav": "audio.wav",
    "audio/flac": "audio.flac",
    "audio/ogg": "audio.ogg",
    "audio/mpeg": "audio.mp3",
}


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
        self._server = ModelServerClient(
            name="transcription server",
            base_url=base_url,
            api_key=api_key,
            connect_timeout_seconds=connect_timeout_seconds,
            read_timeout_seconds=read_timeout_seconds,
            max_retries=max_retries,
            retry_base_delay_seconds=retry_base_delay_seconds,
            retry_max_delay_seconds=retry_max_delay_seconds,
            breaker=breaker,
        )
        self._model = model
        self._language = language

    @property
    def name(self) -> str:
        return f"openai-compatible:{self._model}"

    async def transcribe(self, audio: bytes, media_type: str) -> str:
        fields, files = self._multipart(audio, media_type)
        response = await self._server.post(TRANSCRIPTIONS_PATH, data=fields, files=files)
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
        await self._server.close()

    def _read(self, response: httpx.Response) -> str:
        status = response.status_code
        if status in _AUDIO_REFUSED:
            self._server.answered()  # a refusal is an answer: the server is up
            logger.info("the model server refused the audio", extra={"http_status": status})
            raise MediaUnreadableError(
                reason=f"the transcription server refused the audio ({status})"
            )
        text = _text(response) if status == 200 else None
        if text is None:
            self._server.answered_unusable()
            if status in (401, 403):
                logger.error("the model server refused our key: check the transcription API key")
            else:
                logger.warning(
                    "the model server answered what we cannot read", extra={"http_status": status}
                )
            raise ModelServiceUnavailableError(DEFAULT_RETRY_AFTER_SECONDS)
        self._server.answered()
        return text.strip()


def _text(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    text = body.get("text") if isinstance(body, dict) else None
    return text if isinstance(text, str) else None
