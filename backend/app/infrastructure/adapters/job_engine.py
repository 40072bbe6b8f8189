"""The `JobEngine` port: job ids go to whatever runs jobs, in this process or through taskiq.

- Embedded (no Redis): each id sent runs as a task of this event loop (`InProcessJobEngine`). It
  did so through taskiq's `InMemoryBroker`, which added nothing to that but its imports: importing
  any part of taskiq runs its package, which imports aiohttp for an admin middleware (~9 MiB
  resident in every API process, issue 13). taskiq is imported only by the distributed engine.
- Distributed: taskiq-redis's `RedisStreamBroker` (a stream read by one consumer group); `strata
  worker` processes consume it with `consume`.

The broker only carries ids; the `jobs` table says what is due, and the sweeper resends anything a
broker lost. That is how this engine works around what taskiq-redis 1.2.4 does not hold
(measured in ../shared/notes/taskiq-redis.md), rather than depending on it:
- redelivery: taskiq's XAUTOCLAIM runs only after a read that fetched something (an orphaned
  message on an idle stream waits forever) and its 10-minute idle default re-runs long jobs. We
  acknowledge each message as we take it, so nothing waits in the pending list for XAUTOCLAIM at
  all; a worker killed mid-job leaves a running row whose lease the sweeper sees expire.
- the stream is trimmed (`MAXLEN ~`): acknowledged entries would otherwise stay forever; a trimmed
  unread id is still queued in the table, and resent.
- a flush (or a Redis restarted empty) makes the blocked read fail with `NOGROUP`/`UNBLOCKED`,
  which kills taskiq's own worker loop: ours recreates the group and carries on.
- Python 3.11 with redis-py 8's default `socket_timeout=5` swallows the cancellation SIGTERM
  needs (CPython gh-86296): our connections have no socket timeout, and reads block 1 s at most.
- Concurrency is our own semaphore, in both engines (taskiq's `InMemoryBroker` ignored
  `max_async_tasks`, taskiq #396).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from app.application.tasks import cancel_and_wait

if TYPE_CHECKING:
    from taskiq_redis import RedisStreamBroker

logger = logging.getLogger("strata.jobs")

RUN_JOB_TASK = "strata.run_job"
JOB_STREAM = "strata:jobs"
WORKER_GROUP = "strata-workers"
READ_BLOCK_MS = 1_000
# Nothing of ours waits in the pending list (we acknowledge on receipt): an idle time this long
# only keeps taskiq's own XAUTOCLAIM from re-running a job another worker is still running.
TASKIQ_IDLE_TIMEOUT_MS = 24 * 3_600_000
RECONNECT_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)

RunJob = Callable[[UUID], Awaitable[object]]


class TaskiqJobEngine(ABC):
    """Sends job ids to what runs jobs and, in a process that runs jobs, runs them at most
    `concurrency` at a time with `run_job` (the application's `JobRunner.run`). How ids are
    carried is the subclasses': `in_process` or `redis_streams` (taskiq's)."""

    def __init__(self, *, concurrency: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._run_job: RunJob | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._started = False

    @classmethod
    def in_process(cls, *, concurrency: int) -> TaskiqJobEngine:
        return InProcessJobEngine(concurrency=concurrency)

    @classmethod
    def redis_streams(
        cls, redis_url: str, *, concurrency: int, maxlen: int
    ) -> RedisStreamJobEngine:
        from taskiq_redis import RedisStreamBroker  # noqa: PLC0415 - taskiq only when distributed

        broker = RedisStreamBroker(
            redis_url,
            queue_name=JOB_STREAM,
            consumer_group_name=WORKER_GROUP,
            consumer_id="0",  # a group made after a flush reads what was sent before it
            xread_block=READ_BLOCK_MS,
            xread_count=concurrency,  # what one read takes, each acknowledged as it starts
            maxlen=maxlen,
            idle_timeout=TASKIQ_IDLE_TIMEOUT_MS,
            socket_timeout=None,
        )
        return RedisStreamJobEngine(broker, concurrency=concurrency)

    @property
    def runs_jobs(self) -> bool:
        return self._run_job is not None

    async def start(self, run_job: RunJob | None = None) -> None:
        """Connect; with `run_job`, this process also runs the jobs it receives. Redis not
        answering yet stops nothing: readiness says so, and sending works once it answers."""
        self._run_job = run_job
        if not self._started:
            await self._connect()
            self._started = True

    async def _connect(self) -> None:  # noqa: B027 - a hook; the in-process engine needs none
        """Whatever carries ids gets ready (nothing to do in process)."""

    async def ping(self) -> None:
        """For readiness: raises unless this engine can carry job ids now."""
        if not self._started:
            raise JobEngineNotStartedError()

    @abstractmethod
    async def send(self, job_ids: Sequence[UUID]) -> None:
        """Hand these job ids to whatever runs jobs (in process, or a Redis stream)."""

    async def _run(self, job_id: UUID) -> None:
        await self._slots.acquire()
        await self._run_in_slot(job_id)

    async def _run_in_slot(self, job_id: UUID) -> None:
        """Run the job in a slot the caller took, and give the slot back."""
        task = asyncio.current_task()
        try:
            if task is not None:
                self._running.add(task)
            if self._run_job is not None:
                await self._run_job(job_id)
        except Exception:  # the runner records a job's failure: this is the runner's own
            logger.exception("job runner failed", extra={"job_id": str(job_id)})
        finally:
            if task is not None:
                self._running.discard(task)
            self._slots.release()

    async def drain(self, bound_seconds: float) -> None:
        """Stop running jobs: wait up to `bound_seconds` for the running ones, then cancel the
        rest (the runner hands each back to the queue for another worker)."""
        self._run_job_after_drain()
        running = list(self._running)
        if running:
            logger.info("draining jobs", extra={"jobs": len(running), "bound": bound_seconds})
            _done, pending = await asyncio.wait(running, timeout=bound_seconds)
            for task in pending:  # the runner hands each back to the queue as it is cancelled
                await cancel_and_wait(task)

    def _run_job_after_drain(self) -> None:
        """Jobs that arrive while draining are left queued (the sweeper resends them)."""
        run_job = self._run_job
        if run_job is None:
            return

        async def refuse(job_id: UUID) -> None:
            logger.info("job left queued: draining", extra={"job_id": str(job_id)})

        self._run_job = refuse

    async def close(self) -> None:
        if self._started:
            await self._disconnect()
            self._started = False

    async def _disconnect(self) -> None:  # noqa: B027 - a hook; the in-process engine needs none
        """Whatever carries ids lets go (nothing to do in process)."""


class InProcessJobEngine(TaskiqJobEngine):
    """The embedded engine: each id sent runs as a task of this event loop, as taskiq's
    `InMemoryBroker` ran it (a task per id, started at once, waiting for a slot; neither starting
    nor closing the engine touches the tasks)."""

    def __init__(self, *, concurrency: int) -> None:
        super().__init__(concurrency=concurrency)
        self._carried: set[asyncio.Task[None]] = set()  # the loop keeps only weak references

    async def send(self, job_ids: Sequence[UUID]) -> None:
        loop = asyncio.get_running_loop()
        for job_id in job_ids:
            task = loop.create_task(self._run(job_id))
            self._carried.add(task)
            task.add_done_callback(self._carried.discard)


class JobEngineNotStartedError(RuntimeError):
    pass


class RedisStreamJobEngine(TaskiqJobEngine):
    """The distributed engine: ids go through taskiq-redis's stream broker; `consume` is a
    `strata worker`'s loop over the job stream."""

    def __init__(self, broker: RedisStreamBroker, *, concurrency: int) -> None:
        super().__init__(concurrency=concurrency)
        self._broker = broker

        async def run_job(job_id: str) -> None:
            # What taskiq's receiver would call for each id (`consume` reads the stream itself).
            await self._run(UUID(job_id))

        # A plain function: taskiq renames the function it registers, which a method refuses.
        self._task = broker.register_task(run_job, task_name=RUN_JOB_TASK)

    async def _connect(self) -> None:
        from redis.exceptions import RedisError  # noqa: PLC0415 - redis only when distributed

        try:
            await self._broker.startup()
        except (RedisError, OSError) as error:
            logger.warning("job engine not connected", extra={"error": type(error).__name__})

    async def _disconnect(self) -> None:
        await self._broker.shutdown()

    async def send(self, job_ids: Sequence[UUID]) -> None:
        for job_id in job_ids:
            await self._task.kiq(str(job_id))

    async def ping(self) -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - redis only when distributed

        await super().ping()
        async with Redis(connection_pool=self._broker.connection_pool) as redis:
            await redis.ping()

    async def consume(self) -> None:
        """Take ids off the stream and run them, until cancelled. Survives Redis going away or
        being flushed (the group is recreated)."""
        from redis.exceptions import ConnectionError as RedisConnectionError  # noqa: PLC0415
        from redis.exceptions import ResponseError  # noqa: PLC0415
        from redis.exceptions import TimeoutError as RedisTimeoutError  # noqa: PLC0415

        failures = 0
        while True:
            try:
                await self._ensure_group()
                async for message in self._broker.listen():
                    failures = 0
                    await _maybe_await(message.ack())
                    job_id = self._job_id(message.data)
                    if job_id is None:
                        continue
                    await self._take_slot_and_run(job_id)
            except (RedisConnectionError, RedisTimeoutError, ResponseError, OSError) as error:
                delay = RECONNECT_DELAYS[min(failures, len(RECONNECT_DELAYS) - 1)]
                failures += 1
                logger.warning(
                    "job stream unavailable; reading again soon",
                    extra={"error": type(error).__name__, "retry_in": delay},
                )
                await asyncio.sleep(delay)

    async def _take_slot_and_run(self, job_id: UUID) -> None:
        # Wait for a free slot before reading on: a worker holds at most `concurrency` ids.
        try:
            await self._slots.acquire()
        except asyncio.CancelledError:
            # Stopped while holding an acknowledged id: put it back for another worker now.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.send([job_id]))
            raise
        task = asyncio.get_running_loop().create_task(self._run_in_slot(job_id))
        self._running.add(task)  # held here from the start: the loop keeps only weak references
        task.add_done_callback(self._running.discard)

    def _job_id(self, data: bytes) -> UUID | None:
        try:
            message = self._broker.formatter.loads(data)
            return UUID(str(message.args[0]))
        except Exception:  # not one of ours (or garbage): acknowledged, and dropped
            logger.warning("unreadable job message dropped")
            return None

    async def _ensure_group(self) -> None:
        from redis.asyncio import Redis  # noqa: PLC0415 - redis only when distributed
        from redis.exceptions import ResponseError  # noqa: PLC0415

        async with Redis(connection_pool=self._broker.connection_pool) as redis:
            try:
                await redis.xgroup_create(JOB_STREAM, WORKER_GROUP, id="0", mkstream=True)
            except ResponseError as error:
                if "BUSYGROUP" not in str(error):
                    raise


async def _maybe_await(value: object) -> None:
    if isinstance(value, Awaitable):
        await value
