"""A local stand-in for Stripe's API, speaking its wire protocol, so that the production adapter (the
official SDK over HTTPX) is what the tests and the benchmark exercise.

It serves what Strata uses: `POST /v1/payment_intents` (form-encoded, `metadata[key]=value`,
`Idempotency-Key` replayed the way Stripe does) and `GET /v1/payment_intents/{id}`, with Stripe's
error JSON (`{"error": {"type", "code", "decline_code", "message", "param"}}`) and status codes.
Tests script its failures: a delay, 5xx or 429 answers, a body that is not JSON, a card error.

In the suite it runs in a thread (`StripeFake().start()`); for the benchmark, as a process:
`python -m tests.stripe_fake --port 12111 --api-key sk_test_bench`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.local_server import LocalServer

DEFAULT_API_KEY = "sk_test_strata_fake_0123456789"


@dataclass
class Scripted:
    """One scripted answer, used instead of the real one for the next matching request."""

    status: int = 500
    body: Any = None  # JSON; a str is sent as is (malformed JSON)
    delay_seconds: float = 0.0
    passthrough: bool = False  # only delay, then answer normally


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]


@dataclass
class _State:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    idempotent: dict[str, tuple[str, int, Any]] = field(default_factory=dict)
    script: deque[Scripted] = field(default_factory=deque)
    requests: list[RecordedRequest] = field(default_factory=list)


class StripeFake:
    def __init__(self, api_key: str = DEFAULT_API_KEY) -> None:
        self.api_key = api_key
        self._lock = threading.Lock()
        self._state = _State()
        self._counter = itertools.count(1)
        self.port = 0
        self.app = Starlette(
            routes=[
                Route("/v1/payment_intents", self._create, methods=["POST"]),
                Route("/v1/payment_intents/{intent_id}", self._retrieve, methods=["GET"]),
            ]
        )
        self._serving = LocalServer(self.app, "the Stripe fake")

    # --- what tests use
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        with self._lock:
            self._state = _State()

    def then(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order, before answering normally again."""
        with self._lock:
            self._state.script.extend(answers)

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        body = {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        if status == 429:
            body = {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Too many requests",
                }
            }
        self.then(*(Scripted(status=status, body=body) for _ in range(count)))

    def delay_next(self, seconds: float, count: int = 1) -> None:
        self.then(*(Scripted(delay_seconds=seconds, passthrough=True) for _ in range(count)))

    def malformed_next(self, count: int = 1) -> None:
        self.then(*(Scripted(status=200, body="{not json") for _ in range(count)))

    def decline_next(self, decline_code: str = "insufficient_funds") -> None:
        self.then(
            Scripted(
                status=402,
                body={
                    "error": {
                        "type": "card_error",
                        "code": "card_declined",
                        "decline_code": decline_code,
                        "message": "Your card was declined.",
                        "param": "payment_method",
                    }
                },
            )
        )

    def set_status(
        self, intent_id: str, status: str, *, last_payment_error: dict[str, Any] | None = None
    ) -> None:
        """Move an intent along, as the payer's actions would on Stripe."""
        with self._lock:
            intent = self._state.intents[intent_id]
            intent["status"] = status
            intent["last_payment_error"] = last_payment_error

    def set_amount(self, intent_id: str, amount: int) -> None:
        with self._lock:
            self._state.intents[intent_id]["amount"] = amount

    @property
    def intents(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {key: dict(value) for key, value in self._state.intents.items()}

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._state.requests)

    def creates(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/payment_intents"]

    # --- serving
    def start(self) -> StripeFake:
        self.port = self._serving.start(self.port)
        return self

    def stop(self) -> None:
        self._serving.stop()

    async def _create(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        scripted = await self._record_and_script(request, form)
        if scripted is not None:
            return scripted
        key = request.headers.get("idempotency-key")
        digest = hashlib.sha256(json.dumps(form, sort_keys=True).encode()).hexdigest()
        with self._lock:
            if key is not None and key in self._state.idempotent:
                stored_digest, status, body = self._state.idempotent[key]
                if stored_digest != digest:
                    return _error(
                        400,
                        "idempotency_error",
                        None,
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                    )
                return JSONResponse(body, status, headers={"Idempotent-Replayed": "true"})
        problem = _invalid_create(form)
        if problem is not None:
            return problem
        intent_id = f"pi_{next(self._counter):06d}{secrets.token_hex(8)}"
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "currency": form["currency"],
            "status": "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
            "created": int(time.time()),
            "livemode": False,
            "last_payment_error": None,
        }
        with self._lock:
            self._state.intents[intent_id] = intent
            if key is not None:
                self._state.idempotent[key] = (digest, 200, intent)
        return JSONResponse(intent, headers={"Request-Id": f"req_{secrets.token_hex(7)}"})

    async def _retrieve(self, request: Request) -> Response:
        scripted = await self._record_and_script(request, {})
        if scripted is not None:
            return scripted
        with self._lock:
            intent = self._state.intents.get(request.path_params["intent_id"])
        if intent is None:
            return _error(
                404, "invalid_request_error", "resource_missing", "No such payment_intent", "intent"
            )
        return JSONResponse(intent)

    async def _record_and_script(self, request: Request, form: dict[str, str]) -> Response | None:
        with self._lock:
            self._state.requests.append(
                RecordedRequest(request.method, request.url.path, dict(request.headers), form)
            )
            scripted = self._state.script.popleft() if self._state.script else None
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", None, "Invalid API Key provided: sk_****")
        if scripted is None:
            return None
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        if scripted.passthrough:
            return None
        if isinstance(scripted.body, str):
            return Response(scripted.body, scripted.status, media_type="application/json")
        return JSONResponse(scripted.body, scripted.status)


def _invalid_create(form: dict[str, str]) -> Response | None:
    if not form.get("amount", "").isdigit():
        return _error(
            400,
            "invalid_request_error",
            "parameter_missing",
            "Missing required param: amount.",
            "amount",
        )
    if int(form["amount"]) < 50:
        return _error(
            400,
            "invalid_request_error",
            "amount_too_small",
            "Amount must be at least $0.50 usd",
            "amount",
        )
    if len(form.get("currency", "")) != 3:
        return _error(
            400, "invalid_request_error", "parameter_invalid_string", "Invalid currency", "currency"
        )
    return None


def _error(
    status: int, type_: str, code: str | None, message: str, param: str | None = None
) -> Response:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    return JSONResponse(
        {"error": error}, status, headers={"Request-Id": f"req_{secrets.token_hex(7)}"}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args()
    fake = StripeFake(args.api_key)
    uvicorn.run(fake.app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
