"""Readiness probes: can we reach each dependency right now?"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from redis.asyncio import Redis

from app.infrastructure.database.engine import Database

PROBE_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ProbeResult:
    name: str
    ok: bool
    error: str | None = None


class ReadinessProbes:
    def __init__(self, database: Database, redis: Redis | None) -> None:
        self._checks: dict[str, Callable[[], Awaitable[object]]] = {"database": database.ping}
        if redis is not None:
            self._checks["redis"] = redis.ping

    async def run(self) -> list[ProbeResult]:
        results: list[ProbeResult] = []
        for name, check in self._checks.items():
            try:
                with anyio.fail_after(PROBE_TIMEOUT_SECONDS):
                    await check()
                results.append(ProbeResult(name=name, ok=True))
            except Exception as exc:
                results.append(ProbeResult(name=name, ok=False, error=type(exc).__name__))
        return results
