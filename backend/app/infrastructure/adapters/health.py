"""Readiness probes: can we reach each dependency right now?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio

from app.infrastructure.database.engine import Database

if TYPE_CHECKING:
    from redis.asyncio import Redis

PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    ok: bool
    error: str | None = None
    # What a check that passed reports beyond "ok", when it returns a text (the vector index in use).
    detail: str | None = None


Check = Callable[[], Awaitable[object]]


class ReadinessProbes:
    def __init__(
        self, database: Database, redis: Redis | None, features: Mapping[str, Check] | None = None
    ) -> None:
        """`features`: the checks features add (the job engine's), read at every run: a feature
        may add its check after this is built."""
        self._checks: dict[str, Check] = {"database": database.ping}
        if redis is not None:
            self._checks["redis"] = redis.ping
        self._features = features if features is not None else {}

    async def run(self) -> list[ProbeResult]:
        results: list[ProbeResult] = []
        for name, check in {**self._checks, **self._features}.items():
            try:
                with anyio.fail_after(PROBE_TIMEOUT_SECONDS):
                    found = await check()
                detail = found if isinstance(found, str) else None
                results.append(ProbeResult(name=name, ok=True, detail=detail))
            except Exception as exc:
                results.append(ProbeResult(name=name, ok=False, error=type(exc).__name__))
        return results
