"""A steady mixed load on a running Strata, and the record of everything it was told.

Four clients run side by side until told to stop: one creates resources, one reads (its
resources and the public catalog), one creates payment intents under an Idempotency-Key (a key
that got no 2xx is sent again, as a careful client does, until one answers), and one registers
accounts (each one owes exactly one verification mail, sent by the worker from the outbox).
A readiness monitor polls /health/ready alongside.

Every answer is recorded with when it came, so a test can check what was acknowledged against the
database afterwards, and that no answer was a 5xx other than a 503 carrying Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

REQUEST_TIMEOUT_S = 15.0
PACE_S = 0.05  # between two requests of one client: a steady load, not a flood on 2 CPUs
READY_POLL_S = 0.2
USER_PASSWORD = "chaos monkey on a long string"


@dataclass(frozen=True, slots=True)
class Answer:
    at: float  # time.monotonic()
    kind: str
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    retry_after: str | None = None
    error: str | None = None
    body: str = ""


@dataclass(frozen=True, slots=True)
class ReadinessSample:
    at: float
    status: int
    failing: frozenset[str]


@dataclass
class LoadRecord:
    answers: list[Answer] = field(default_factory=list)
    readiness: list[ReadinessSample] = field(default_factory=list)
    created_resource_ids: set[str] = field(default_factory=set)
    payment_ids_by_key: dict[str, set[str]] = field(default_factory=dict)
    unanswered_payment_key: str | None = None
    registered_emails: list[str] = field(default_factory=list)

    def server_errors(self) -> list[Answer]:
        """5xx that the contract forbids: anything but a 503 with Retry-After."""
        return [
            answer
            for answer in self.answers
            if answer.status >= 500 and not (answer.status == 503 and answer.retry_after)
        ]

    def successes(self, kind: str, since: float = 0.0) -> int:
        return sum(
            1 for a in self.answers if a.kind == kind and 200 <= a.status < 300 and a.at >= since
        )

    def failing_reported(self, dependency: str, start: float, end: float) -> bool:
        return any(
            sample.status == 503 and dependency in sample.failing
            for sample in self.readiness
            if start <= sample.at <= end
        )


class MixedLoad:
    """`async with MixedLoad(base_url, token) as load:` runs the clients; leaving stops them."""

    def __init__(self, base_url: str, access_token: str) -> None:
        self.record = LoadRecord()
        self._base_url = base_url
        self._auth = {"Authorization": f"Bearer {access_token}"}
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._client = httpx.AsyncClient(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
        self._run_id = uuid.uuid4().hex[:8]
        self._counter = 0

    async def __aenter__(self) -> MixedLoad:
        for name, step, pace_s in (
            ("write", self._create_resource, PACE_S),
            ("read", self._read, PACE_S),
            ("pay", self._create_payment_intent, PACE_S),
            ("register", self._register, PACE_S),
            ("ready", self._probe_readiness, READY_POLL_S),
        ):
            task = asyncio.create_task(self._repeat(step, pace_s), name=f"load-{name}")
            self._tasks.append(task)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    async def settle_payments(self, deadline_s: float) -> None:
        """Send the payment key left without a 2xx again until it gets one (the client's duty
        under idempotency), so that a duplicate effect of its earlier tries would show."""
        deadline = time.monotonic() + deadline_s
        async with httpx.AsyncClient(base_url=self._base_url, timeout=REQUEST_TIMEOUT_S) as client:
            self._client, previous = client, self._client
            try:
                while self.record.unanswered_payment_key and time.monotonic() < deadline:
                    await self._create_payment_intent()
                    await asyncio.sleep(PACE_S)
            finally:
                self._client = previous

    # ------------------------------------------------------------------ the clients
    async def _repeat(self, step: Callable[[], Awaitable[None]], pace_s: float) -> None:
        while not self._stop.is_set():
            await step()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pace_s)

    async def _create_resource(self) -> None:
        self._counter += 1
        body = {
            "name": f"chaos {self._run_id} {self._counter}",
            "description": "written under load",
        }
        response = await self._send("write", "POST", "/api/v1/resources", json=body)
        if response is not None and response.status_code == 201:
            self.record.created_resource_ids.add(response.json()["id"])

    async def _read(self) -> None:
        await self._send("read", "GET", "/api/v1/resources", params={"limit": 5})
        await self._send("read", "GET", "/api/v1/products", params={"limit": 5}, auth=False)

    async def _create_payment_intent(self) -> None:
        key = self.record.unanswered_payment_key or f"chaos-{uuid.uuid4().hex}"
        self.record.unanswered_payment_key = key
        response = await self._send(
            "pay",
            "POST",
            "/api/v1/payments/intents",
            json={"amount_cents": 1234, "currency": "eur"},
            headers={"Idempotency-Key": key},
        )
        if response is not None and 200 <= response.status_code < 300:
            self.record.payment_ids_by_key.setdefault(key, set()).add(response.json()["id"])
            self.record.unanswered_payment_key = None

    async def _register(self) -> None:
        email = f"chaos-{self._run_id}-{secrets.token_hex(4)}@example.com"
        response = await self._send(
            "register",
            "POST",
            "/api/v1/auth/register",
            json={"email": email, "password": USER_PASSWORD},
            auth=False,
        )
        if response is not None and response.status_code == 201:
            self.record.registered_emails.append(email)

    async def _probe_readiness(self) -> None:
        try:
            response = await self._client.get("/health/ready", timeout=5)
        except httpx.HTTPError:
            self.record.readiness.append(ReadinessSample(time.monotonic(), 0, frozenset()))
            return
        failing = frozenset()
        if response.status_code == 503:
            failing = frozenset(e.get("field", "") for e in response.json().get("errors", []))
        self.record.readiness.append(
            ReadinessSample(time.monotonic(), response.status_code, failing)
        )

    async def _send(
        self, kind: str, method: str, path: str, *, auth: bool = True, **options: object
    ) -> httpx.Response | None:
        headers = {**(self._auth if auth else {}), **dict(options.pop("headers", {}) or {})}  # type: ignore[call-overload]
        try:
            response = await self._client.request(method, path, headers=headers, **options)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            self.record.answers.append(Answer(time.monotonic(), kind, 0, error=type(exc).__name__))
            return None
        self.record.answers.append(
            Answer(
                time.monotonic(),
                kind,
                response.status_code,
                retry_after=response.headers.get("retry-after"),
                body=response.text[:500] if response.status_code >= 500 else "",
            )
        )
        return response
