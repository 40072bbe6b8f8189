"""One model server speaking OpenAI's HTTP protocol, as the pipeline's HTTP adapters call it
(`embedding/openai_compatible.py`, `transcription/openai_compatible.py`).

Every request has connect and read timeouts, goes through a circuit breaker, and is retried with
exponential backoff and full jitter on network errors, 429 and 5xx only: never on another 4xx,
which would fail again, nor on a read timeout, since a server that took that long is overloaded
(it may still be working on the first request) and another attempt would make the caller wait a
multiple of its bound. A server that fails to answer, or keeps failing, or whose circuit is open,
is ModelServiceUnavailableError, with when to try again (its Retry-After when it sent one).

`post` hands back any other answer, a refusal included, for the adapter to read; the adapter then
tells the breaker whether the answer was usable (`answered`) or not (`answered_unusable`). The API
key is sent as a bearer token and never logged; neither is an error body, which may quote the
request.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from app.application.interfaces.pipeline import ModelServiceUnavailableError
from app.infrastructure.adapters.circuit_breaker import CircuitBreaker, CircuitOpenError

logger = logging.getLogger("strata.pipeline.model_server")
DEFAULT_RETRY_AFTER_SECONDS = 5  # when the server does not say
MAX_RETRY_AFTER_SECONDS = 300


class _ServerFailedError(Exception):
    """A 429 or 5xx: worth another attempt."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"the model server answered {response.status_code}")
        self.status = response.status_code
        self.retry_after_seconds = _retry_after(response)


class ModelServerClient:
    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: str | None,
        connect_timeout_seconds: float,
        read_timeout_seconds: float,
        max_retries: int,
        retry_base_delay_seconds: float,
        retry_max_delay_seconds: float,
        breaker: CircuitBreaker,
    ) -> None:
        self.name = name  # what the logs call it: "embedding server", "transcription server"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(read_timeout_seconds, connect=connect_timeout_seconds),
        )
        self._attempts = max_retries + 1
        self._wait = wait_random_exponential(
            multiplier=retry_base_delay_seconds, max=retry_max_delay_seconds
        )
        self._breaker = breaker

    async def post(self, path: str, **request: Any) -> httpx.Response:
        """The server's answer to `POST path` (any status but 429 and 5xx), retried as the
        module says; ModelServiceUnavailableError if there is none."""
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
                    response = await self._http.post(path, **request)
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _ServerFailedError(response)
        except (httpx.HTTPError, _ServerFailedError) as exc:
            self._breaker.record_failure()
            failed = exc if isinstance(exc, _ServerFailedError) else None
            logger.warning(
                f"{self.name} failed",
                extra={
                    "error": type(exc).__name__,
                    "http_status": failed.status if failed is not None else None,
                },
            )
            raise ModelServiceUnavailableError(
                failed.retry_after_seconds if failed is not None else DEFAULT_RETRY_AFTER_SECONDS
            ) from None
        except BaseException:
            self._breaker.record_abandoned()
            raise
        return response

    def answered(self) -> None:
        """The answer was one we could read, or a refusal: the server is up."""
        self._breaker.record_success()

    def answered_unusable(self) -> None:
        """The answer was nothing we can use: counted as a failure of the server."""
        self._breaker.record_failure()

    async def close(self) -> None:
        await self._http.aclose()


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
    if value.isdigit():
        return max(1, min(int(value), MAX_RETRY_AFTER_SECONDS))
    return DEFAULT_RETRY_AFTER_SECONDS
