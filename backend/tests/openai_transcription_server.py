"""A local server speaking OpenAI's `POST /v1/audio/transcriptions`, so that the production adapter
(`OpenAiCompatibleTranscriber`, over HTTPX) is what the tests exercise, multipart body and all.

It answers `{"text": transcript}` to a well-formed request, checks a bearer key when given one,
and refuses what OpenAI refuses (no file, no model, an unknown `response_format`) with its error
JSON. Tests script its failures (`Scripted`: a status, a body, headers, a delay) and read what it
received (`RecordedTranscription`: headers, form fields, the file's name, type and bytes).

In the suite it runs in a thread: `OpenAiTranscriptionServer().start()`, `.stop()`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tests.local_server import LocalServer

RESPONSE_FORMATS = frozenset({"json", "text", "verbose_json", "srt", "vtt"})


@dataclass
class Scripted:
    """One scripted answer, given instead of the real one to the next request."""

    status: int = 500
    body: Any = None  # JSON; a str is sent as is (not JSON)
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0


@dataclass
class RecordedTranscription:
    headers: dict[str, str]
    fields: dict[str, str]
    file_name: str | None
    file_content_type: str | None
    file: bytes | None


class OpenAiTranscriptionServer:
    def __init__(self, *, transcript: str = "hello world", api_key: str | None = None) -> None:
        self.transcript = transcript
        self.api_key = api_key
        self.requests: list[RecordedTranscription] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self.port = 0
        self.app = FastAPI()
        self.app.add_api_route(
            "/v1/audio/transcriptions", self._transcribe, methods=["POST"], response_model=None
        )
        self._serving = LocalServer(self.app, "the transcription server")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, *answers: Scripted) -> None:
        with self._lock:
            self._script.extend(answers)

    def reset(self, *, transcript: str = "hello world", api_key: str | None = None) -> None:
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.transcript = transcript
            self.api_key = api_key

    def start(self) -> OpenAiTranscriptionServer:
        self.port = self._serving.start(0)
        return self

    def stop(self) -> None:
        self._serving.stop()

    async def _transcribe(self, request: Request) -> Response:
        form = await request.form()
        upload = form.get("file")
        file = upload if isinstance(upload, UploadFile) else None
        recorded = RecordedTranscription(
            headers={name.lower(): value for name, value in request.headers.items()},
            fields={name: value for name, value in form.items() if isinstance(value, str)},
            file_name=file.filename if file else None,
            file_content_type=file.content_type if file else None,
            file=await file.read() if file else None,
        )
        with self._lock:
            self.requests.append(recorded)
            scripted = self._script.popleft() if self._script else None
        if scripted is not None:
            await asyncio.sleep(scripted.delay_seconds)
            return _scripted_response(scripted)
        return self._answer(recorded)

    def _answer(self, recorded: RecordedTranscription) -> Response:
        if self.api_key and recorded.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_api_key", "Incorrect API key provided.")
        if not recorded.file:
            return _error(400, "invalid_request_error", "you must provide a file")
        if not recorded.fields.get("model"):
            return _error(400, "invalid_request_error", "you must provide a model parameter")
        if recorded.fields.get("response_format", "json") not in RESPONSE_FORMATS:
            return _error(400, "invalid_request_error", "unknown response_format")
        return JSONResponse({"text": self.transcript})


def _scripted_response(scripted: Scripted) -> Response:
    if isinstance(scripted.body, str):
        return Response(scripted.body, status_code=scripted.status, headers=scripted.headers)
    body = scripted.body
    if body is None:
        body = {"error": {"message": "scripted failure", "type": "server_error", "code": None}}
    return JSONResponse(body, status_code=scripted.status, headers=scripted.headers)


def _error(status: int, kind: str, message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": None}},
        status_code=status,
    )
