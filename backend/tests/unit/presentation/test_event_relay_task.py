"""The task every API process runs: leftovers relayed every few seconds, a failing database
retried rather than ending the task; old rows are forgotten by the periodic job."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from sqlalchemy.exc import OperationalError

from app.presentation.api.v1.dependencies import event
from app.presentation.container import Container


class RecordingRelay:
    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or OperationalError("SELECT", {}, ConnectionRefusedError())
        self.leftover_runs = 0
        self.sweeps = 0

    async def relay_leftovers(self, *, min_age: timedelta = timedelta(seconds=5)) -> int:
        self.leftover_runs += 1
        if self.failures:
            self.failures -= 1
            raise self.error
        return 0

    async def forget_old(self) -> None:
        self.sweeps += 1


def container_with(relay: RecordingRelay, redis: object = None) -> Container:
    return cast(Container, SimpleNamespace(event_relay=relay, redis=redis))


async def test_the_task_relays_and_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event, "LEFTOVERS_EVERY_SECONDS", 0.01)
    relay = RecordingRelay(failures=2)
    task = asyncio.create_task(event.relay_leftovers_periodically(container_with(relay)))
    await asyncio.sleep(0.2)
    await event._stop(task)

    assert relay.leftover_runs >= 5  # kept going through the two failures
    assert relay.sweeps == 0  # the periodic job `event.forget_old` does that
    assert task.cancelled()


async def test_start_up_is_not_stopped_by_a_database_that_does_not_answer() -> None:
    relay = RecordingRelay(failures=1)
    await event.relay_leftovers_now(container_with(relay))
    assert relay.leftover_runs == 1


async def test_start_up_is_not_stopped_by_a_redis_that_does_not_answer() -> None:
    # Distributed, the relay appends to the event stream (redis is imported by then).
    from redis.exceptions import ConnectionError as RedisConnectionError

    relay = RecordingRelay(failures=1, error=RedisConnectionError("refused"))
    await event.relay_leftovers_now(container_with(relay, redis=object()))
    assert relay.leftover_runs == 1


def test_the_provider_starts_and_stops_the_task() -> None:
    async def scenario() -> Any:
        relay = RecordingRelay()
        provider = next(p for p in event.PROVIDERS if p.key is event.LEFTOVER_RELAY)
        task = provider.build(container_with(relay))
        assert provider.close is not None
        await provider.close(task)
        return task

    assert asyncio.run(scenario()).cancelled()


async def test_the_periodic_job_forgets_old_events() -> None:
    relay = RecordingRelay()
    await event.ForgetOldEvents(cast(Any, relay))(cast(Any, None))
    assert relay.sweeps == 1
