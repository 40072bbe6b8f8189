"""The sweeper every job-running process runs: one periodic job per period however many
processes try, the ids of due jobs sent again (and only those), the jobs of a crashed process
recovered, the queue depth reported; finished jobs forgotten after their retention."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID

import pytest

from app.application.services.jobs import (
    ForgetFinishedJobs,
    JobFactory,
    JobKind,
    JobKinds,
    JobSweeper,
)
from app.domain.entities.job import Job, JobStatus, RetryPolicy
from app.domain.events.job import JobQueued
from tests.builders import make_job
from tests.fakes import FakeClock, FakeEventPublisher, FakeUnitOfWork

LEASE = timedelta(minutes=5)
RESEND_AFTER = timedelta(seconds=30)
HOURLY = "sessions.sweep"
RETRY = RetryPolicy(
    max_attempts=3, backoff_base=timedelta(seconds=2), backoff_cap=timedelta(minutes=1)
)


async def nothing(job: Job) -> None:
    return None


KINDS = JobKinds(
    [
        JobKind(name=HOURLY, handler=nothing, every=timedelta(hours=1)),
        JobKind(name="test.echo", handler=nothing, retry=RETRY),
    ]
)


class RecordingEngine:
    def __init__(self) -> None:
        self.sent: list[list[UUID]] = []

    async def send(self, job_ids: Sequence[UUID]) -> None:
        self.sent.append(list(job_ids))


class RecordingObserver:
    def __init__(self) -> None:
        self.depths: list[Mapping[tuple[str, JobStatus], int]] = []

    def job_finished(self, kind: str, outcome: str, seconds: float) -> None:
        return None

    def queue_depth(self, depth: Mapping[tuple[str, JobStatus], int]) -> None:
        self.depths.append(dict(depth))


@pytest.fixture
def engine() -> RecordingEngine:
    return RecordingEngine()


@pytest.fixture
def events() -> FakeEventPublisher:
    return FakeEventPublisher()


def sweeper_of(
    uow: FakeUnitOfWork,
    clock: FakeClock,
    engine: RecordingEngine,
    events: FakeEventPublisher,
    observer: RecordingObserver | None = None,
) -> JobSweeper:
    return JobSweeper(
        lambda: uow,
        KINDS,
        JobFactory(KINDS, clock),
        engine,
        events,
        clock,
        resend_after=RESEND_AFTER,
        observer=observer,
    )


async def stored(uow: FakeUnitOfWork, *jobs: Job) -> None:
    async with uow:
        for job in jobs:
            await uow.jobs.add(job)
        await uow.commit()


def made_at(at: datetime, **overrides: object) -> Job:
    return make_job(now=at, **overrides)


def started_at(at: datetime, worker: str = "host/1") -> Job:
    job = made_at(at)
    job.start(worker, at, LEASE)
    return job


def failed_at(at: datetime) -> Job:
    job = started_at(at)
    job.fail("host/1", "boom", at, RETRY, jitter=lambda: 1.0)  # due at + 2 s
    return job


def finished_at(at: datetime, status: JobStatus) -> Job:
    job = made_at(at)
    if status is JobStatus.CANCELED:
        job.cancel(at)
        return job
    job.start("host/1", at, LEASE)
    if status is JobStatus.SUCCEEDED:
        job.succeed("host/1", at)
    else:
        job.bury("boom", at)
    return job


async def test_two_sweepers_make_one_periodic_job_per_period(
    clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    first, second = FakeUnitOfWork(), FakeUnitOfWork()
    second.fake_jobs = first.fake_jobs  # one jobs table, two processes
    second.fake_outbox = first.fake_outbox
    sweepers = [sweeper_of(u, clock, engine, events) for u in (first, second)]
    clock.set(datetime.fromisoformat("2026-01-15T09:30:00+00:00"))

    assert [await s.schedule_periodic() for s in sweepers] == [1, 0]
    clock.advance(timedelta(minutes=29, seconds=59))
    assert [await s.schedule_periodic() for s in sweepers] == [0, 0]
    clock.advance(timedelta(seconds=1))  # 10:00, the next period
    assert [await s.schedule_periodic() for s in sweepers] == [1, 0]

    jobs = sorted(first.fake_jobs.committed.values(), key=lambda job: job.created_at)
    assert [(job.kind, job.dedupe_key, dict(job.payload)) for job in jobs] == [
        (HOURLY, f"{HOURLY}@20260115T090000", {"period": "2026-01-15T09:00:00+00:00"}),
        (HOURLY, f"{HOURLY}@20260115T100000", {"period": "2026-01-15T10:00:00+00:00"}),
    ]
    assert all(job.status is JobStatus.QUEUED for job in jobs)
    told = [JobQueued(occurred_at=job.created_at, job_id=job.id, kind=HOURLY) for job in jobs]
    assert events.published == told
    assert sorted(first.fake_outbox.committed_events, key=lambda e: e.occurred_at) == told


async def test_sending_due_jobs_sends_exactly_those_a_worker_should_be_told_about(
    uow: FakeUnitOfWork, clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    now = clock.now()
    lost = made_at(now - timedelta(seconds=60))  # queued, sent long ago: the message was lost
    fresh = made_at(now - timedelta(seconds=10))  # queued, just sent
    backoff_over = failed_at(now - timedelta(seconds=60))
    backoff_ahead = failed_at(now - timedelta(seconds=1))
    worker_died = started_at(now - LEASE - timedelta(seconds=1))
    worker_alive = started_at(now - LEASE + timedelta(seconds=1))
    finished = [
        finished_at(now - timedelta(hours=1), status)
        for status in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELED)
    ]
    await stored(
        uow, lost, fresh, backoff_over, backoff_ahead, worker_died, worker_alive, *finished
    )

    sent = await sweeper_of(uow, clock, engine, events).send_due()

    assert sent == 3
    assert len(engine.sent) == 1
    assert sorted(engine.sent[0]) == sorted([lost.id, backoff_over.id, worker_died.id])
    assert uow.fake_jobs.sent_at[lost.id] == now
    assert uow.fake_jobs.sent_at[fresh.id] == fresh.created_at
    assert events.published == []


async def test_a_resent_queued_job_is_not_sent_again_until_the_wait_is_over(
    uow: FakeUnitOfWork, clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    lost = made_at(clock.now() - timedelta(seconds=60))
    await stored(uow, lost)
    sweeper = sweeper_of(uow, clock, engine, events)

    assert await sweeper.send_due() == 1
    assert await sweeper.send_due() == 0
    clock.advance(RESEND_AFTER - timedelta(seconds=1))
    assert await sweeper.send_due() == 0
    clock.advance(timedelta(seconds=1, microseconds=1))
    assert await sweeper.send_due() == 1

    assert engine.sent == [[lost.id], [lost.id]]


async def test_a_resent_failed_or_orphaned_job_is_not_sent_again_at_the_next_sweep(
    uow: FakeUnitOfWork, clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    now = clock.now()
    await stored(
        uow, failed_at(now - timedelta(seconds=60)), started_at(now - LEASE - timedelta(seconds=1))
    )
    sweeper = sweeper_of(uow, clock, engine, events)

    assert await sweeper.send_due() == 2
    assert await sweeper.send_due() == 0


async def test_at_start_up_only_the_running_jobs_of_gone_workers_are_recovered_and_sent(
    uow: FakeUnitOfWork, clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    crashed = started_at(clock.now(), worker="host/10")
    alive = started_at(clock.now(), worker="host/11")
    waiting = made_at(clock.now())
    await stored(uow, crashed, alive, waiting)
    clock.advance(timedelta(seconds=1))  # the restart

    recovered = await sweeper_of(uow, clock, engine, events).recover_abandoned(
        lambda worker: worker == "host/10"
    )

    assert recovered == 1
    jobs = uow.fake_jobs.committed
    assert jobs[crashed.id].status is JobStatus.QUEUED
    assert jobs[crashed.id].attempts == 1  # the attempt counts: the job may be what crashed it
    assert jobs[crashed.id].worker is None
    assert jobs[alive.id].status is JobStatus.RUNNING
    assert jobs[alive.id].worker == "host/11"
    # Sent now, without waiting: the crashed job, and the waiting one whose message the crash lost.
    assert sorted(engine.sent[0]) == sorted([crashed.id, waiting.id])
    assert len(engine.sent) == 1


async def test_observing_reports_the_queue_depth_by_kind_and_status(
    uow: FakeUnitOfWork, clock: FakeClock, engine: RecordingEngine, events: FakeEventPublisher
) -> None:
    now = clock.now()
    await stored(
        uow,
        made_at(now),
        made_at(now),
        made_at(now, kind=HOURLY),
        started_at(now),
        failed_at(now),
        finished_at(now, JobStatus.SUCCEEDED),
        finished_at(now, JobStatus.CANCELED),
    )
    observer = RecordingObserver()

    await sweeper_of(uow, clock, engine, events, observer).observe()

    assert observer.depths == [
        {
            ("test.echo", JobStatus.QUEUED): 2,
            (HOURLY, JobStatus.QUEUED): 1,
            ("test.echo", JobStatus.RUNNING): 1,
            ("test.echo", JobStatus.FAILED): 1,
        }
    ]


async def test_finished_jobs_are_forgotten_after_their_retention_and_no_others(
    uow: FakeUnitOfWork, clock: FakeClock
) -> None:
    retention = timedelta(days=7)
    now = clock.now()
    old = now - retention - timedelta(seconds=1)
    recent = now - retention + timedelta(seconds=1)
    forgotten = [
        finished_at(old, status)
        for status in (JobStatus.SUCCEEDED, JobStatus.DEAD, JobStatus.CANCELED)
    ]
    kept = [
        finished_at(recent, JobStatus.SUCCEEDED),
        made_at(old - timedelta(days=30)),
        started_at(old - timedelta(days=30)),
        failed_at(old - timedelta(days=30)),
    ]
    await stored(uow, *forgotten, *kept)

    await ForgetFinishedJobs(lambda: uow, clock, retention)(make_job())

    assert set(uow.fake_jobs.committed) == {job.id for job in kept}
