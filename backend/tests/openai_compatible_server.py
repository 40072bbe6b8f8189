"""A local model server speaking OpenAI's HTTP protocol, so that the model-server adapters (HTTPX,
retries, breaker) are what the tests exercise, over 127.0.0.1.

It serves `POST /v1/embeddings` (`{"model", "input": [...]}` → `{"object": "list", "data": [{"index",
"embedding"}], "model", "usage"}`): each text's vector is derived from its SHA-256, not of unit
length, and `data` lists them in reverse order, as the protocol allows, so a client that ignores
`index` or skips normalising is caught. Errors are OpenAI's JSON (`{"error": {"message", "type",
"code"}}`); with an API key set, a request without `Authorization: Bearer <key>` gets a 401.

Tests script each route: `then(path, Scripted(...), ...)` queues answers (a status, a body, a
delay, headers) used before the route's own; every request is recorded. Another route (speech to
text, say) is one handler and one line in `_handlers`.

In the suite it runs in a thread (`OpenAiCompatibleServer().start()`); as a process:
`python -m tests.openai_compatible_server --port 12112`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import LocalServer

EMBEDDINGS = "/v1/embeddings"
DEFAULT_DIMENSION = 8


@dataclass
class Scripted:
    """One scripted answer, used instead of the route's own for the next request to it."""

    status: int = 500
    body: Any = None  # JSON; a str is sent as is (malformed JSON); None: an OpenAI error
    delay_seconds: float = 0.0
    passthrough: bool = False  # only delay, then answer normally
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[RecordedRequest], Awaitable[Response]]


class OpenAiCompatibleServer:
    def __init__(
        self, *, api_key: str | None = None, embedding_dimension: int = DEFAULT_DIMENSION
    ) -> None:
        self.api_key = api_key
        self.embedding_dimension = embedding_dimension
        self.port = 0
        self._lock = threading.Lock()
        self._scripts: defaultdict[str, deque[Scripted]] = defaultdict(deque)
        self._requests: list[RecordedRequest] = []
        self._handlers: dict[str, Handler] = {EMBEDDINGS: self._embeddings}
        self.app = Starlette(
            routes=[Route(path, self._endpoint(path), methods=["POST"]) for path in self._handlers]
        )
        self._serving = LocalServer(self.app, "the OpenAI-compatible server")

    # --- what tests use
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self._scripts.clear()
            self._requests.clear()

    def then(self, path: str, *answers: Scripted) -> None:
        """Answer the next requests to `path` with these, in order, then normally again."""
        if path not in self._handlers:
            raise ValueError(f"no route {path}")
        with self._lock:
            self._scripts[path].extend(answers)

    def fail_next(self, path: str, count: int = 1, status: int = 500) -> None:
        self.then(path, *(Scripted(status=status) for _ in range(count)))

    def delay_next(self, path: str, seconds: float, count: int = 1) -> None:
        self.then(path, *(Scripted(delay_seconds=seconds, passthrough=True) for _ in range(count)))

    def requests(self, path: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if path is None or r.path == path]

    def vector(self, text: str) -> list[float]:
        """The vector this server gives `text` (before any client normalises it)."""
        digest = hashlib.sha256(text.encode()).digest()
        return [(digest[i % len(digest)] - 127.5) / 16 for i in range(self.embedding_dimension)]

    # --- serving
    def start(self) -> OpenAiCompatibleServer:
        self.port = self._serving.start(self.port)
        return self

    def stop(self) -> None:
        self._serving.stop()

    def _endpoint(self, path: str) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            recorded = RecordedRequest(
                request.method, request.url.path, dict(request.headers), await request.body()
            )
            with self._lock:
                self._requests.append(recorded)
                script = self._scripts[path]
                scripted = script.popleft() if script else None
            if scripted is not None:
                if scripted.delay_seconds:
                    await asyncio.sleep(scripted.delay_seconds)
                if not scripted.passthrough:
                    return _scripted_response(scripted)
            if self.api_key is not None and (
                request.headers.get("authorization") != f"Bearer {self.api_key}"
            ):
                return _error(401, "invalid_request_error", "invalid_api_key", "Invalid API key.")
            return await self._handlers[path](recorded)

        return endpoint

    async def _embeddings(self, request: RecordedRequest) -> Response:
        try:
            body = request.json()
        except ValueError:
            return _error(400, "invalid_request_error", None, "The body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "invalid_request_error", None, "The body is not a JSON object.")
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        if (
            not isinstance(body.get("model"), str)
            or not isinstance(texts, list)
            or not texts
            or not all(isinstance(text, str) and text for text in texts)
        ):
            return _error(
                400,
                "invalid_request_error",
                None,
                "'model' must be a string and 'input' a non-empty list of non-empty strings.",
            )
        data = [
            {"object": "embedding", "index": index, "embedding": self.vector(text)}
            for index, text in enumerate(texts)
        ]
        words = sum(len(text.split()) for text in texts)
        return JSONResponse(
            {
                "object": "list",
                "data": data[::-1],
                "model": body["model"],
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
        )


def _scripted_response(scripted: Scripted) -> Response:
    if isinstance(scripted.body, str):
        return Response(
            scripted.body, scripted.status, headers=scripted.headers, media_type="application/json"
        )
    if scripted.body is None:
        response = _error(scripted.status, "server_error", None, "Scripted failure.")
        response.headers.update(scripted.headers)
        return response
    return JSONResponse(scripted.body, scripted.status, headers=scripted.headers)


def _error(status: int, type_: str, code: str | None, message: str) -> Response:
    return JSONResponse(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}, status
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12112)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--dimension", type=int, default=DEFAULT_DIMENSION)
    args = parser.parse_args()
    server = OpenAiCompatibleServer(api_key=args.api_key, embedding_dimension=args.dimension)
    uvicorn.run(server.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
