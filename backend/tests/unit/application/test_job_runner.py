"""A worker runs a job by id: once, recording how it ended; a failure waits its backoff, the last
one makes the job dead and says so in the outbox; a draining worker hands the job back; a long
job keeps its lease; a worker that lost its lease records nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from uuid import UUID

import pytest

from app.application.services.jobs import JobKind, JobKinds, JobRunner
from app.domain.entities.job import Job, JobStatus, RetryPolicy
from app.domain.events import DomainEvent
from app.domain.events.job import JobFailed
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_job
from tests.fakes import FakeClock, FakeEventPublisher, FakeUnitOfWork
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

KIND = "test.echo"
LEASE = timedelta(minutes=5)
RETRY = RetryPolicy(
    max_attempts=3, backoff_base=timedelta(seconds=2), backoff_cap=timedelta(minutes=1)
)


class RecordingObserver:
    def __init__(self) -> None:
        self.finished: list[tuple[str, str]] = []

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        self.finished.append((kind, outcome))

    def queue_depth(self, depth: Mapping[tuple[str, JobStatus], int]) -> None:
        return None


class RecordingHandler:
    """Records the ids of the jobs it ran; raises `errors` one by one, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.ran: list[UUID] = []
        self._errors = list(errors)

    async def __call__(self, job: Job) -> None:
        self.ran.append(job.id)
        if self._errors:
            raise self._errors.pop(0)


class FakeRelay(FakeEventPublisher):
    """Like the outbox relay, does nothing at all when handed no event (the runner hands its
    events after every outcome, most often none), so each recorded publish carried events."""

    async def relay(self, events: Sequence[DomainEvent]) -> None:
        if events:
            await super().relay(events)


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeRelay(uow)


@pytest.fixture
def observer() -> RecordingObserver:
    return RecordingObserver()


def kinds_of(handler: object, **options: object) -> JobKinds:
    fields: dict[str, object] = {"retry": RETRY, "visibility_timeout": LEASE, **options}
    return JobKinds([JobKind(name=KIND, handler=handler, **fields)])  # type: ignore[arg-type]


def runner_of(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    kinds: JobKinds,
    *,
    worker: str = "worker-a",
    observer: RecordingObserver | None = None,
) -> JobRunner:
    # Jitter 1: a failed attempt waits the policy's whole delay, so a test knows when it is due.
    return JobRunner(lambda: uow, kinds, clock, events, worker, observer, jitter=lambda: 1.0)


async def stored(uow: FakeUnitOfWork, job: Job) -> Job:
    async with uow:
        await uow.jobs.add(job)
        await uow.commit()
    return job


def committed(uow: FakeUnitOfWork, job_id: UUID) -> Job:
    job: Job = uow.fake_jobs.committed[job_id]
    return job


async def test_a_job_runs_once_and_ends_succeeded(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    observer: RecordingObserver,
) -> None:
    job = await stored(uow, make_job(now=clock.now()))
    handler = RecordingHandler()
    clock.advance(timedelta(seconds=3))

    status = await runner_of(uow, clock, events, kinds_of(handler), observer=observer).run(job.id)

    assert status is JobStatus.SUCCEEDED
    assert handler.ran == [job.id]
    done = committed(uow, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 1
    assert done.finished_at == clock.now()
    assert (done.worker, done.lease_expires_at) == (None, None)
    assert observer.finished == [(KIND, "succeeded")]
    assert_nobody_told(uow, events)


async def test_a_duplicate_delivery_of_a_finished_job_does_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = await stored(uow, make_job(now=clock.now()))
    handler = RecordingHandler()
    runner = runner_of(uow, clock, events, kinds_of(handler))
    await runner.run(job.id)
    finished = committed(uow, job.id)

    assert await runner.run(job.id) is None
    assert await runner_of(uow, clock, events, kinds_of(handler), worker="b").run(job.id) is None

    assert handler.ran == [job.id]
    assert committed(uow, job.id) == finished


async def test_a_duplicate_delivery_of_a_job_running_elsewhere_does_nothing(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = make_job(now=clock.now())
    job.start("worker-b", clock.now(), LEASE)
    await stored(uow, job)
    handler = RecordingHandler()
    clock.advance(LEASE - timedelta(seconds=1))  # worker-b's lease still holds

    assert await runner_of(uow, clock, events, kinds_of(handler)).run(job.id) is None

    assert handler.ran == []
    assert committed(uow, job.id) == job


async def test_an_unknown_id_or_a_job_in_its_backoff_is_not_run(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    waiting = make_job(now=clock.now())
    waiting.start("worker-b", clock.now(), LEASE)
    waiting.fail("worker-b", "boom", clock.now(), RETRY, jitter=lambda: 1.0)
    await stored(uow, waiting)
    handler = RecordingHandler()
    runner = runner_of(uow, clock, events, kinds_of(handler))

    assert await runner.run(new_id()) is None
    assert await runner.run(waiting.id) is None

    assert handler.ran == []
    assert committed(uow, waiting.id) == waiting


async def test_a_failed_attempt_waits_its_backoff_then_the_job_runs_again(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    observer: RecordingObserver,
) -> None:
    job = await stored(uow, make_job(now=clock.now(), max_attempts=RETRY.max_attempts))
    handler = RecordingHandler(ValueError("the mail server said no"))
    runner = runner_of(uow, clock, events, kinds_of(handler), observer=observer)

    assert await runner.run(job.id) is JobStatus.FAILED
    failed = committed(uow, job.id)
    assert failed.status is JobStatus.FAILED
    assert failed.attempts == 1
    assert failed.last_error == "ValueError: the mail server said no"
    assert failed.run_after == clock.now() + RETRY.backoff_base
    assert (failed.worker, failed.lease_expires_at) == (None, None)

    clock.advance(RETRY.backoff_base - timedelta(microseconds=1))
    assert await runner.run(job.id) is None  # a delivery before the backoff is over
    assert handler.ran == [job.id]

    clock.advance(timedelta(microseconds=1))
    assert await runner.run(job.id) is JobStatus.SUCCEEDED
    assert handler.ran == [job.id, job.id]
    assert committed(uow, job.id).attempts == 2
    assert observer.finished == [(KIND, "failed"), (KIND, "succeeded")]
    assert_nobody_told(uow, events)


async def test_the_last_failed_attempt_makes_the_job_dead_and_tells_once_after_commit(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    observer: RecordingObserver,
) -> None:
    job = await stored(uow, make_job(now=clock.now(), max_attempts=2))
    handler = RecordingHandler(RuntimeError("first"), RuntimeError("second"))
    runner = runner_of(uow, clock, events, kinds_of(handler), observer=observer)

    assert await runner.run(job.id) is JobStatus.FAILED
    assert events.published == []
    clock.set(committed(uow, job.id).run_after)
    assert await runner.run(job.id) is JobStatus.DEAD

    dead = committed(uow, job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.attempts == 2
    assert dead.last_error == "RuntimeError: second"
    assert dead.finished_at == clock.now()
    assert observer.finished == [(KIND, "failed"), (KIND, "dead")]
    told = JobFailed(
        occurred_at=clock.now(),
        job_id=job.id,
        kind=KIND,
        attempts=2,
        error_type="RuntimeError",
    )
    assert_told_after_commit(uow, events, told)
    assert await runner.run(job.id) is None
    assert len(events.published) == 1


async def test_a_job_of_a_kind_nobody_here_runs_is_dead_at_once(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = await stored(uow, make_job(kind="feature.gone", now=clock.now()))
    handler = RecordingHandler()

    assert await runner_of(uow, clock, events, kinds_of(handler)).run(job.id) is JobStatus.DEAD

    dead = committed(uow, job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.last_error == "LookupError: unknown job kind feature.gone"
    assert handler.ran == []
    [told] = events.published
    assert isinstance(told, JobFailed)
    assert (told.job_id, told.kind, told.error_type) == (job.id, "feature.gone", "LookupError")
    assert_told_after_commit(uow, events, told)


async def test_a_worker_canceled_mid_job_hands_it_back_with_the_attempt_undone(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    observer: RecordingObserver,
) -> None:
    job = await stored(uow, make_job(now=clock.now()))
    started = asyncio.Event()

    async def endless(job: Job) -> None:
        started.set()
        await asyncio.Event().wait()

    running = asyncio.create_task(
        runner_of(uow, clock, events, kinds_of(endless), observer=observer).run(job.id)
    )
    await asyncio.wait_for(started.wait(), timeout=5)
    assert committed(uow, job.id).status is JobStatus.RUNNING
    clock.advance(timedelta(seconds=4))
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running

    released = committed(uow, job.id)
    assert released.status is JobStatus.QUEUED
    assert released.attempts == 0
    assert (released.worker, released.lease_expires_at) == (None, None)
    assert released.run_after == clock.now()
    assert observer.finished == []
    handler = RecordingHandler()
    other = runner_of(uow, clock, events, kinds_of(handler), worker="worker-b")
    assert await other.run(job.id) is JobStatus.SUCCEEDED
    assert committed(uow, job.id).attempts == 1


async def test_the_lease_is_renewed_while_a_long_job_runs(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    lease = timedelta(seconds=0.09)
    job = await stored(uow, make_job(now=clock.now()))
    leases: list[object] = []

    async def long_job(job: Job) -> None:
        first = committed(uow, job.id).lease_expires_at
        leases.append(first)
        clock.advance(timedelta(minutes=1))
        # Renewals come every lease/3 (30 ms) of real time; wait for one, at most 2 s.
        deadline = asyncio.get_running_loop().time() + 2
        while committed(uow, job.id).lease_expires_at == first:
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.01)
        leases.append(committed(uow, job.id).lease_expires_at)

    kinds = kinds_of(long_job, visibility_timeout=lease)
    status = await runner_of(uow, clock, events, kinds).run(job.id)

    assert status is JobStatus.SUCCEEDED
    start = clock.now() - timedelta(minutes=1)
    assert leases == [start + lease, clock.now() + lease]


@pytest.mark.parametrize("late_outcome", [None, RuntimeError("too late")])
async def test_a_worker_whose_lease_was_taken_over_records_nothing(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    late_outcome: Exception | None,
) -> None:
    job = await stored(uow, make_job(now=clock.now()))
    second = RecordingHandler(ValueError("second worker failed"))
    worker_b = runner_of(uow, clock, events, kinds_of(second), worker="worker-b")
    outcomes: list[JobStatus | None] = []

    async def stalled(job: Job) -> None:
        clock.advance(LEASE + timedelta(seconds=1))  # worker-a stalls past its lease ...
        outcomes.append(await worker_b.run(job.id))  # ... and worker-b takes the job over
        if late_outcome is not None:
            raise late_outcome

    assert await runner_of(uow, clock, events, kinds_of(stalled)).run(job.id) is None

    assert outcomes == [JobStatus.FAILED]
    stands = committed(uow, job.id)
    assert stands.status is JobStatus.FAILED
    assert stands.attempts == 2
    assert stands.last_error == "ValueError: second worker failed"
    assert_nobody_told(uow, events)


async def test_a_running_job_whose_lease_expired_runs_again_as_its_next_attempt(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = make_job(now=clock.now())
    job.start("worker-killed", clock.now(), LEASE)
    await stored(uow, job)
    handler = RecordingHandler()
    clock.advance(LEASE)

    assert await runner_of(uow, clock, events, kinds_of(handler)).run(job.id) is (
        JobStatus.SUCCEEDED
    )

    assert handler.ran == [job.id]
    assert committed(uow, job.id).attempts == 2


async def test_a_job_whose_worker_stopped_during_its_last_attempt_is_dead_and_told_once(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    events: FakeEventPublisher,
    observer: RecordingObserver,
) -> None:
    job = await worker_stopped_on_its_last_attempt(uow, clock)
    handler = RecordingHandler()
    runner = runner_of(uow, clock, events, kinds_of(handler), observer=observer)

    assert await runner.run(job.id) is None

    assert handler.ran == []
    dead = committed(uow, job.id)
    assert dead.status is JobStatus.DEAD
    assert dead.attempts == 1
    assert dead.last_error == "its worker stopped during the last attempt"
    assert dead.finished_at == clock.now()
    assert (dead.worker, dead.lease_expires_at) == (None, None)
    assert observer.finished == [(KIND, "dead")]
    told = JobFailed(
        occurred_at=clock.now(), job_id=job.id, kind=KIND, attempts=1, error_type="WorkerLost"
    )
    assert uow.fake_outbox.committed_events == [told]
    assert events.published == [told]
    assert events.published[0].event_id == uow.fake_outbox.committed_events[0].event_id
    assert events.commits_at_publish == [uow.committed]
    assert await runner.run(job.id) is None
    assert events.published == [told]


async def test_the_dead_job_of_a_stopped_worker_is_told_outside_any_transaction(
    uow: FakeUnitOfWork, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = await worker_stopped_on_its_last_attempt(uow, clock)

    await runner_of(uow, clock, events, kinds_of(RecordingHandler())).run(job.id)

    assert len(events.published) == 1
    assert not events.published_inside_transaction


async def worker_stopped_on_its_last_attempt(uow: FakeUnitOfWork, clock: FakeClock) -> Job:
    job = make_job(now=clock.now(), max_attempts=1)
    job.start("worker-killed", clock.now(), LEASE)
    await stored(uow, job)
    clock.advance(LEASE + timedelta(seconds=1))
    return job
