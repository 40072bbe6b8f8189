"""Composition of the job feature: this process's part in background jobs.

Every process sends job ids (the `JobQueued` handler, run by whichever process relays the event).
A process that runs jobs also runs the sweeper. Which processes run jobs:
- embedded (no `REDIS_URL`): the API process, with taskiq's in-memory broker;
- distributed: `strata worker` processes, reading the Redis stream; API processes too only if
  `FEATURES__JOB__RUN_IN_API=true`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Annotated

from fastapi import BackgroundTasks, Depends, Request
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import InterfaceError, OperationalError

from app.application.interfaces.job import JobAdminUnitOfWork, JobObserver, JobUnitOfWork
from app.application.services.jobs import (
    ForgetFinishedJobs,
    JobFactory,
    JobKind,
    JobKinds,
    JobRunner,
    JobSweeper,
)
from app.application.tasks import cancel_and_wait
from app.application.use_cases.job.manage_jobs import CancelJob, GetJob, ListJobs, RetryJob
from app.domain.entities.job import JobStatus
from app.domain.events import DomainEvent
from app.domain.events.job import JobQueued
from app.infrastructure.adapters.job_engine import RedisStreamJobEngine, TaskiqJobEngine
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
from app.presentation.container import Container, Provider, ProviderKey
from app.presentation.shared_providers import JOB_FACTORY

if TYPE_CHECKING:
    from app.presentation.api.metrics import HttpMetrics

logger = logging.getLogger("strata.jobs")


class JobSettings(BaseModel):
    """`FEATURES__JOB__<NAME>` settings."""

    model_config = ConfigDict(extra="forbid")

    # Jobs one process runs at once.
    concurrency: int = Field(default=4, ge=1, le=1_000)
    # Whether API processes run jobs: by default yes when embedded, no when distributed.
    run_in_api: bool | None = None
    # On SIGTERM (or shutdown), how long running jobs may take to finish before they are handed
    # back to the queue for another worker.
    drain_seconds: float = Field(default=10.0, ge=0, le=3_600)
    # How often the sweeper makes periodic jobs and resends what is due.
    sweep_every_seconds: float = Field(default=1.0, gt=0, le=3_600)
    # A queued job not started this long after its id was sent is sent again (lost message).
    resend_after_seconds: float = Field(default=30.0, gt=0, le=86_400)
    # Finished jobs are kept this long for the admin API, then forgotten.
    retention_days: int = Field(default=30, ge=1, le=3_650)
    # The job stream keeps about this many entries (each is acknowledged when taken).
    stream_maxlen: int = Field(default=100_000, ge=1_000)


def worker_identity() -> str:
    """ "host/pid/nonce": the nonce tells apart two processes that got the same pid (a container's
    pid 1 after a restart)."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


class JobsRuntime:
    """Sends job ids always; runs jobs once `start_worker` is called."""

    def __init__(self, container: Container, observer: JobObserver | None = None) -> None:
        self._container = container
        self.settings = container.settings_of(JobSettings)
        redis_url = container.settings.redis_url
        self.engine: TaskiqJobEngine = (
            TaskiqJobEngine.redis_streams(
                redis_url,
                concurrency=self.settings.concurrency,
                maxlen=self.settings.stream_maxlen,
            )
            if redis_url
            else TaskiqJobEngine.in_process(concurrency=self.settings.concurrency)
        )
        self.worker_id = worker_identity()
        _LIVE_WORKERS.add(self.worker_id)
        self.observer = observer
        self._loops: list[asyncio.Task[None]] = []
        self._started = False

    @property
    def distributed(self) -> bool:
        return isinstance(self.engine, RedisStreamJobEngine)

    @property
    def runs_in_api(self) -> bool:
        if self.settings.run_in_api is not None:
            return self.settings.run_in_api
        return not self.distributed

    @cached_property
    def kinds(self) -> JobKinds:
        # Built on first use, once every feature's providers exist: handlers may use any of them.
        return JobKinds(
            JobKind(
                name=definition.name,
                handler=definition.handler(self._container),
                retry=definition.retry,
                visibility_timeout=(
                    definition.visibility_timeout
                    if isinstance(definition.visibility_timeout, timedelta)
                    else definition.visibility_timeout(self._container)
                ),
                every=definition.every,
            )
            for definition in self._container.features.job_definitions
        )

    @cached_property
    def factory(self) -> JobFactory:
        return JobFactory(lambda: self.kinds, self._container.clock)

    def _unit_of_work(self) -> JobUnitOfWork:
        return self._container.unit_of_work(JobUnitOfWork)

    @cached_property
    def runner(self) -> JobRunner:
        return JobRunner(
            self._unit_of_work,
            self.kinds,
            self._container.clock,
            self._container.event_relay,
            self.worker_id,
            self.observer,
        )

    @cached_property
    def sweeper(self) -> JobSweeper:
        return JobSweeper(
            self._unit_of_work,
            self.kinds,
            self.factory,
            self.engine,
            self._container.event_relay,
            self._container.clock,
            resend_after=timedelta(seconds=self.settings.resend_after_seconds),
            observer=self.observer,
        )

    async def send(self, event: DomainEvent) -> None:
        """The `JobQueued` handler: the committed job's id goes to the engine."""
        if isinstance(event, JobQueued):
            await self.engine.send([event.job_id])

    async def start_sending(self) -> None:
        await self.engine.start()

    async def start_worker(self) -> None:
        """Run jobs in this process: resume what a crash here left, then receive and sweep."""
        await self.engine.start(self.runner.run)
        self._started = True
        if not self.distributed:
            try:
                await self.sweeper.recover_abandoned(_process_is_gone)
            except (OSError, OperationalError, InterfaceError) as error:
                logger.warning(
                    "jobs not resumed at start-up", extra={"error": type(error).__name__}
                )
        loop = asyncio.get_running_loop()
        self._loops.append(loop.create_task(self._sweep_periodically(), name="job-sweeper"))
        if isinstance(self.engine, RedisStreamJobEngine):
            self._loops.append(loop.create_task(self.engine.consume(), name="job-consumer"))

    async def _sweep_periodically(self) -> None:
        # The first sweep waits a period too: start-up has resumed what a crash left already.
        while True:
            await asyncio.sleep(self.settings.sweep_every_seconds)
            try:
                await self.sweeper.sweep()
            except Exception as error:  # the database away for a while: sweep again next time
                logger.warning("job sweep failed", extra={"error": type(error).__name__})

    async def stop(self) -> None:
        """Stop taking jobs, let the running ones finish within `drain_seconds` (the rest go
        back to the queue), and disconnect."""
        for task in self._loops:
            await cancel_and_wait(task)
        self._loops.clear()
        if self._started:
            await self.engine.drain(self.settings.drain_seconds)
        await self.engine.close()


def _process_is_gone(worker: str) -> bool:
    """Whether the process a `worker_identity()` names is gone — known only on this host."""
    host, _, rest = worker.partition("/")
    pid_text, _, _nonce = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False  # another machine's worker: its lease tells
    pid = int(pid_text)
    if pid == os.getpid():
        # Our pid: a runtime of this process (tests run several), or a past life of the pid.
        return worker not in _LIVE_WORKERS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


# The worker identities of this process's runtimes.
_LIVE_WORKERS: set[str] = set()

JOBS = ProviderKey[JobsRuntime]("job.runtime")


class JobStatistics:
    """The `JobObserver` behind `/metrics`: made per app (each app has its own registry)."""

    def __init__(self) -> None:
        self.finished = Counter(
            "strata_jobs_finished_total",
            "Job attempts ended, by kind and outcome (succeeded, failed: will retry, dead, "
            "released: handed back by a draining worker)",
            ["kind", "outcome"],
            registry=None,
        )
        self.retries = Counter(
            "strata_job_retries_total",
            "Failed attempts that will be retried",
            ["kind"],
            registry=None,
        )
        self.duration = Histogram(
            "strata_job_duration_seconds",
            "How long job attempts ran",
            ["kind"],
            buckets=(0.005, 0.025, 0.1, 0.5, 1, 5, 30, 120, 600, 3600),
            registry=None,
        )
        self.jobs = Gauge(
            "strata_jobs",
            "Jobs waiting, running or dead, by kind and status",
            ["kind", "status"],
            registry=None,
        )

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        self.finished.labels(kind, outcome).inc()
        self.duration.labels(kind).observe(seconds)
        if outcome == JobStatus.FAILED.value:
            self.retries.labels(kind).inc()

    def queue_depth(self, depth: Mapping[tuple[str, JobStatus], int]) -> None:
        self.jobs.clear()  # a kind whose jobs are all done shows no stale count
        for (kind, status), count in depth.items():
            self.jobs.labels(kind, status.value).set(count)

    def register(self, registry: CollectorRegistry) -> None:
        for metric in (self.finished, self.retries, self.duration, self.jobs):
            registry.register(metric)


def _build_runtime(container: Container) -> JobsRuntime:
    return JobsRuntime(container, JobStatistics())


def track_jobs(container: Container, metrics: HttpMetrics) -> None:
    observer = container.get(JOBS).observer
    if isinstance(observer, JobStatistics):
        observer.register(metrics.registry)


PROVIDERS = (
    Provider(key=JOBS, build=_build_runtime, close=lambda runtime: runtime.stop()),
    Provider(key=JOB_FACTORY, build=lambda container: container.get(JOBS).factory),
)


def send_queued_jobs(container: Container) -> None:
    runtime = container.get(JOBS)
    container.local_event_handlers.subscribe(JobQueued, runtime.send, name="job.send")
    container.readiness_checks["jobs"] = runtime.engine.ping


async def start_jobs(container: Container) -> None:
    """At start-up of an API process: connect the engine, and run jobs here if this process
    should (embedded, or `run_in_api`)."""
    runtime = container.get(JOBS)
    if runtime.runs_in_api:
        await runtime.start_worker()
    else:
        await runtime.start_sending()


def forget_finished_jobs(container: Container) -> ForgetFinishedJobs:
    retention = timedelta(days=container.settings_of(JobSettings).retention_days)
    return ForgetFinishedJobs(
        lambda: container.unit_of_work(JobUnitOfWork), container.clock, retention
    )


async def get_list_jobs(request: Request) -> ListJobs:
    container = container_of(request)
    return ListJobs(container.read_unit_of_work(JobUnitOfWork), container.access_policy)


async def get_get_job(request: Request) -> GetJob:
    container = container_of(request)
    return GetJob(container.read_unit_of_work(JobUnitOfWork), container.access_policy)


async def get_retry_job(request: Request, background: BackgroundTasks) -> RetryJob:
    container = container_of(request)
    return RetryJob(
        container.unit_of_work(JobAdminUnitOfWork),
        container.access_policy,
        container.clock,
        after_response_relay(background, container),
    )


async def get_cancel_job(request: Request) -> CancelJob:
    container = container_of(request)
    return CancelJob(
        container.unit_of_work(JobAdminUnitOfWork), container.access_policy, container.clock
    )


ListJobsDep = Annotated[ListJobs, Depends(get_list_jobs)]
GetJobDep = Annotated[GetJob, Depends(get_get_job)]
RetryJobDep = Annotated[RetryJob, Depends(get_retry_job)]
CancelJobDep = Annotated[CancelJob, Depends(get_cancel_job)]
