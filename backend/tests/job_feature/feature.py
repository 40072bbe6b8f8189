"""A probe feature for the job tests: kinds of jobs whose effects can be counted, and an endpoint
that makes jobs (in a transaction that commits, or one that rolls back).

- `probe.record`: after `sleep` seconds (payload), records its effect once per job (a second run
  of the same job finds the effect made and makes no other), with the pid that made it;
- `probe.fail`: always fails (a poison job);
- `probe.events`: records one `ProbeHappened` event per job, whose handler counts it once;
- `probe.noop`: does nothing (what `make bench` times end to end).

`POST /api/v1/probe/events` records `ProbeHappened` events directly, as any write would.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Protocol
from uuid import UUID

import sqlalchemy as sa
from fastapi import status
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from app.application.interfaces.events import EventHandlerUnitOfWork
from app.application.interfaces.job import JobUnitOfWork
from app.domain.entities.job import Job, RetryPolicy
from app.domain.errors import InvalidValueError
from app.domain.events import DomainEvent
from app.domain.value_objects.identifiers import new_id
from app.infrastructure.database.base import UtcDateTime
from app.infrastructure.database.upsert import insert_if_absent
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.common import ContainerDep
from app.presentation.api.v1.dependencies.job import JOBS
from app.presentation.container import Container
from app.presentation.features.feature import Feature, JobDefinition

MIGRATIONS = Path(__file__).parent / "migrations"

# Its own MetaData, so the app's tables (and their tests) never see this one.
effects_table = sa.Table(
    "probe_effects",
    sa.MetaData(),
    sa.Column("job_id", sa.Uuid(), primary_key=True),
    sa.Column("pid", sa.Integer(), nullable=False),
    sa.Column("made_at", UtcDateTime(), nullable=False),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeHappened(DomainEvent):
    job_id: UUID

    @property
    def aggregate_id(self) -> UUID | None:
        return self.job_id


class ProbeEffects(Protocol):
    async def record(self, job_id: UUID, now: Any) -> bool: ...


class SqlAlchemyProbeEffects:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(self, job_id: UUID, now: Any) -> bool:
        values = {"job_id": job_id, "pid": os.getpid(), "made_at": now}
        return await insert_if_absent(self._connection, effects_table, values)


class ProbeUnitOfWork(JobUnitOfWork, EventHandlerUnitOfWork, Protocol):
    @property
    def probe_effects(self) -> ProbeEffects: ...


class RecordEffect:
    def __init__(self, container: Container) -> None:
        self._container = container

    async def __call__(self, job: Job) -> None:
        await asyncio.sleep(float(job.payload.get("sleep", 0)))
        async with self._container.unit_of_work(ProbeUnitOfWork) as uow:
            await uow.probe_effects.record(job.id, self._container.clock.now())
            await uow.commit()


class AlwaysFail:
    async def __call__(self, job: Job) -> None:
        raise ValueError("poison: this job always fails")


class RecordEvent:
    def __init__(self, container: Container) -> None:
        self._container = container

    async def __call__(self, job: Job) -> None:
        now = self._container.clock.now()
        event = ProbeHappened(occurred_at=now, job_id=job.id)
        async with self._container.unit_of_work(ProbeUnitOfWork) as uow:
            await uow.outbox.add([event], now)
            await uow.commit()
        await self._container.event_relay.relay([event])


def count_probe_events(container: Container) -> None:
    """The handler of `ProbeHappened`: its effect (a row keyed by the job) made once per event."""

    async def handle(event: DomainEvent) -> None:
        assert isinstance(event, ProbeHappened)
        now = container.clock.now()
        async with container.unit_of_work(ProbeUnitOfWork) as uow:
            if await uow.processed_events.claim("probe.count", event.event_id, now):
                await uow.probe_effects.record(event.event_id, now)
                await uow.commit()

    container.event_publisher.subscribe(ProbeHappened, handle, name="probe.count")


class MakeJobs(BaseModel):
    kind: Annotated[str, Field(pattern=r"^probe\.[a-z]+$")]
    count: Annotated[int, Field(ge=1, le=5_000)] = 1
    payload: dict[str, Any] = Field(default_factory=dict)
    # Make the jobs, then fail the request: the transaction rolls back.
    roll_back: bool = False


class MadeJobs(BaseModel):
    ids: list[UUID]


class RecordEvents(BaseModel):
    count: Annotated[int, Field(ge=1, le=1_000)] = 1


router = FeatureRouter(prefix=f"{API_V1_PREFIX}/probe", tags=["probe"])


@router.post("/jobs", status_code=status.HTTP_202_ACCEPTED)
async def make_jobs(
    body: MakeJobs,
    container: ContainerDep,
) -> MadeJobs:
    uow = container.unit_of_work(ProbeUnitOfWork)
    factory = container.get(JOBS).factory
    queued = []
    async with uow:
        for _ in range(body.count):
            _job, event = await factory.enqueue(uow, body.kind, body.payload)
            queued.append(event)
        if body.roll_back:  # a refused request, after the jobs were added in its transaction
            raise InvalidValueError(field="roll_back", reason="rolled back on purpose")
        await uow.commit()
    await container.event_relay.relay(queued)
    return MadeJobs(ids=[event.job_id for event in queued])


@router.post("/events", status_code=status.HTTP_204_NO_CONTENT)
async def record_events(
    body: RecordEvents,
    container: ContainerDep,
) -> None:
    uow = container.unit_of_work(ProbeUnitOfWork)
    now = container.clock.now()
    events = [ProbeHappened(occurred_at=now, job_id=new_id()) for _ in range(body.count)]
    async with uow:
        await uow.outbox.add(events, now)
        await uow.commit()
    await container.event_relay.relay(events)


class DoNothing:
    async def __call__(self, job: Job) -> None:
        return None


FEATURE = Feature(
    key="probe",
    routers=(router,),
    repositories={"probe_effects": SqlAlchemyProbeEffects},
    units_of_work=(ProbeUnitOfWork,),
    on_start=count_probe_events,
    migrations=MIGRATIONS,
    jobs=(
        JobDefinition(
            name="probe.record",
            handler=RecordEffect,
            visibility_timeout=timedelta(seconds=3),
            retry=RetryPolicy(max_attempts=3, backoff_base=timedelta(milliseconds=50)),
        ),
        JobDefinition(
            name="probe.fail",
            handler=lambda _container: AlwaysFail(),
            retry=RetryPolicy(max_attempts=3, backoff_base=timedelta(milliseconds=50)),
        ),
        JobDefinition(name="probe.events", handler=RecordEvent),
        JobDefinition(name="probe.noop", handler=lambda _container: DoNothing()),
    ),
)
