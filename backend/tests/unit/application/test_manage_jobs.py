"""Administrators list and read jobs, run a failed, dead or canceled one again and cancel one
that waits; nobody else may; a change a worker made in between is never overwritten."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import timedelta
from uuid import UUID

import pytest

from app.application.interfaces.job import JobFilter
from app.application.pagination import InvalidCursorError
from app.application.request_context import RequestContext
from app.application.use_cases.job.manage_jobs import CancelJob, GetJob, ListJobs, RetryJob
from app.domain.entities.job import (
    Job,
    JobChangedConcurrentlyError,
    JobNotCancelableError,
    JobNotFoundError,
    JobNotRetryableError,
    JobStatus,
    RetryPolicy,
)
from app.domain.entities.user import AdminRequiredError, Role, User
from app.domain.errors import InvalidValueError
from app.domain.events.job import JobQueued
from app.domain.value_objects.identifiers import new_id
from tests.builders import make_job, make_user
from tests.fakes import (
    FakeAccessPolicy,
    FakeClock,
    FakeEventPublisher,
    FakeJobRepository,
    FakeUnitOfWork,
)
from tests.unit.application.outbox import assert_nobody_told, assert_told_after_commit

ADMIN = make_user(email="root@example.com", role=Role.ADMIN)
CONTEXT = RequestContext(ip="203.0.113.7", request_id="req-1")
USER = make_user(email="bob@example.com")
LEASE = timedelta(minutes=5)
RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def policy() -> FakeAccessPolicy:
    return FakeAccessPolicy()


@pytest.fixture
def events(uow: FakeUnitOfWork) -> FakeEventPublisher:
    return FakeEventPublisher(uow)


async def stored(uow: FakeUnitOfWork, *jobs: Job) -> None:
    async with uow:
        for job in jobs:
            await uow.jobs.add(job)
        await uow.commit()


def running(clock: FakeClock, **overrides: object) -> Job:
    job = make_job(now=clock.now(), **overrides)
    job.start("host/1", clock.now(), LEASE)
    return job


def dead(clock: FakeClock, **overrides: object) -> Job:
    job = running(clock, max_attempts=1, **overrides)
    job.fail("host/1", "RuntimeError: boom", clock.now(), RETRY)
    return job


def succeeded(clock: FakeClock) -> Job:
    job = running(clock)
    job.succeed("host/1", clock.now())
    return job


def committed(uow: FakeUnitOfWork, job_id: UUID) -> Job:
    job: Job = uow.fake_jobs.committed[job_id]
    return job


async def test_jobs_are_listed_newest_first_in_pages_that_follow_each_other(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock
) -> None:
    jobs = [make_job(now=clock.now()) for _ in range(5)]
    await stored(uow, *jobs)
    list_jobs = ListJobs(uow, policy)

    seen: list[UUID] = []
    cursor: str | None = None
    for expected_size in (2, 2, 1):
        page = await list_jobs.execute(ADMIN, JobFilter(), limit=2, cursor=cursor)
        assert len(page.items) == expected_size
        seen += [job.id for job in page.items]
        cursor = page.next_cursor
    assert cursor is None
    assert seen == sorted((job.id for job in jobs), reverse=True)


async def test_a_page_that_holds_the_last_job_has_no_next_cursor(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock
) -> None:
    await stored(uow, make_job(now=clock.now()), make_job(now=clock.now()))

    page = await ListJobs(uow, policy).execute(ADMIN, JobFilter(), limit=2, cursor=None)

    assert len(page.items) == 2
    assert page.next_cursor is None


async def test_jobs_are_listed_by_kind_and_status(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock
) -> None:
    mail_queued = make_job(kind="mail.send", now=clock.now())
    mail_dead = dead(clock, kind="mail.send")
    report_dead = dead(clock, kind="report.build")
    report_queued = make_job(kind="report.build", now=clock.now())
    await stored(uow, mail_queued, mail_dead, report_dead, report_queued)
    list_jobs = ListJobs(uow, policy)

    async def listed(job_filter: JobFilter) -> list[UUID]:
        page = await list_jobs.execute(ADMIN, job_filter, limit=10, cursor=None)
        return [job.id for job in page.items]

    assert await listed(JobFilter(kind="mail.send")) == [mail_dead.id, mail_queued.id]
    assert await listed(JobFilter(status=JobStatus.DEAD)) == [report_dead.id, mail_dead.id]
    assert await listed(JobFilter(kind="report.build", status=JobStatus.DEAD)) == [report_dead.id]
    assert await listed(JobFilter(kind="nothing.such")) == []


@pytest.mark.parametrize("limit", [0, -1, 101])
async def test_a_page_size_out_of_bounds_is_refused(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, limit: int
) -> None:
    with pytest.raises(InvalidValueError):
        await ListJobs(uow, policy).execute(ADMIN, JobFilter(), limit=limit, cursor=None)


@pytest.mark.parametrize("cursor", ["not-a-cursor", "eyJhZnRlciI6MX0", "x" * 300, ""])
async def test_a_cursor_we_did_not_issue_is_refused(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, cursor: str
) -> None:
    with pytest.raises(InvalidCursorError):
        await ListJobs(uow, policy).execute(ADMIN, JobFilter(), limit=10, cursor=cursor)


async def test_a_job_is_read_by_id_and_an_unknown_one_is_not_found(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock
) -> None:
    job = dead(clock)
    await stored(uow, job)
    get_job = GetJob(uow, policy)

    assert await get_job.execute(ADMIN, job.id) == job
    with pytest.raises(JobNotFoundError):
        await get_job.execute(ADMIN, new_id())


# One of the four use cases, run by `actor` on `job_id` with the test's fakes.
UseCase = Callable[
    [FakeUnitOfWork, FakeAccessPolicy, FakeClock, FakeEventPublisher, User, UUID],
    Awaitable[object],
]


async def _list(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    actor: User,
    job_id: UUID,
) -> object:
    return await ListJobs(uow, policy).execute(actor, JobFilter(), limit=10, cursor=None)


async def _get(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    actor: User,
    job_id: UUID,
) -> object:
    return await GetJob(uow, policy).execute(actor, job_id)


async def _retry(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    actor: User,
    job_id: UUID,
) -> object:
    return await RetryJob(uow, policy, clock, events).execute(actor, job_id, CONTEXT)


async def _cancel(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    actor: User,
    job_id: UUID,
) -> object:
    return await CancelJob(uow, policy, clock).execute(actor, job_id, CONTEXT)


@pytest.mark.parametrize("use_case", [_list, _get, _retry, _cancel])
@pytest.mark.parametrize(
    "actor",
    [USER, make_user(email="old-root@example.com", role=Role.ADMIN, is_active=False)],
    ids=["user", "deactivated admin"],
)
async def test_only_an_administrator_may_look_at_or_touch_jobs(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    use_case: UseCase,
    actor: User,
) -> None:
    job = dead(clock)
    await stored(uow, job)

    with pytest.raises(AdminRequiredError):
        await use_case(uow, policy, clock, events, actor, job.id)

    assert committed(uow, job.id) == job
    assert_nobody_told(uow, events)


@pytest.mark.parametrize("use_case", [_retry, _cancel])
async def test_retrying_or_canceling_an_unknown_job_is_not_found(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    use_case: UseCase,
) -> None:
    with pytest.raises(JobNotFoundError):
        await use_case(uow, policy, clock, events, ADMIN, new_id())

    assert uow.committed == 0
    assert_nobody_told(uow, events)


async def test_a_dead_job_retried_is_queued_with_fresh_attempts_and_sent_after_commit(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = dead(clock)
    await stored(uow, job)
    clock.advance(timedelta(hours=1))

    retried = await RetryJob(uow, policy, clock, events).execute(ADMIN, job.id, CONTEXT)

    stored_job = committed(uow, job.id)
    assert retried == stored_job
    assert stored_job.status is JobStatus.QUEUED
    assert stored_job.attempts == 0
    assert stored_job.run_after == clock.now()
    assert stored_job.finished_at is None
    assert stored_job.version == job.version + 1
    assert_told_after_commit(
        uow, events, JobQueued(occurred_at=clock.now(), job_id=job.id, kind=job.kind)
    )
    [audited] = uow.fake_audit_events.committed
    assert (audited.action, audited.actor_id, audited.target_id) == (
        "job.retry",
        ADMIN.id,
        str(job.id),
    )
    assert (audited.ip, audited.request_id) == ("203.0.113.7", "req-1")
    assert audited.details == {"kind": job.kind, "via": "api"}


async def test_an_operator_retries_and_cancels_from_the_shell_audited_without_an_actor(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock, events: FakeEventPublisher
) -> None:
    failed_job, waiting = dead(clock), make_job(now=clock.now())
    await stored(uow, failed_job)
    await stored(uow, waiting)

    await RetryJob(uow, policy, clock, events).as_operator(failed_job.id)
    await CancelJob(uow, policy, clock).as_operator(waiting.id)

    assert committed(uow, failed_job.id).status is JobStatus.QUEUED
    assert committed(uow, waiting.id).status is JobStatus.CANCELED
    audited = uow.fake_audit_events.committed
    assert [(a.action, a.actor_id, a.details["via"]) for a in audited] == [
        ("job.retry", None, "cli"),
        ("job.cancel", None, "cli"),
    ]


@pytest.mark.parametrize("active", [running, succeeded, lambda clock: make_job(now=clock.now())])
async def test_a_queued_running_or_succeeded_job_cannot_be_retried(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    events: FakeEventPublisher,
    active: Callable[[FakeClock], Job],
) -> None:
    job = active(clock)
    await stored(uow, job)
    committed_before = uow.committed

    with pytest.raises(JobNotRetryableError):
        await RetryJob(uow, policy, clock, events).execute(ADMIN, job.id, CONTEXT)

    assert committed(uow, job.id) == job
    assert uow.committed == committed_before
    assert_nobody_told(uow, events)


async def test_a_queued_job_is_canceled(
    uow: FakeUnitOfWork, policy: FakeAccessPolicy, clock: FakeClock, events: FakeEventPublisher
) -> None:
    job = make_job(now=clock.now())
    await stored(uow, job)
    clock.advance(timedelta(minutes=1))

    canceled = await CancelJob(uow, policy, clock).execute(ADMIN, job.id, CONTEXT)

    assert canceled == committed(uow, job.id)
    assert canceled.status is JobStatus.CANCELED
    assert canceled.finished_at == clock.now()
    assert_nobody_told(uow, events)
    assert [a.action for a in uow.fake_audit_events.committed] == ["job.cancel"]


@pytest.mark.parametrize("not_waiting", [running, succeeded, dead])
async def test_a_running_or_finished_job_cannot_be_canceled(
    uow: FakeUnitOfWork,
    policy: FakeAccessPolicy,
    clock: FakeClock,
    not_waiting: Callable[[FakeClock], Job],
) -> None:
    job = not_waiting(clock)
    await stored(uow, job)

    with pytest.raises(JobNotCancelableError):
        await CancelJob(uow, policy, clock).execute(ADMIN, job.id, CONTEXT)

    assert committed(uow, job.id) == job


class RacingJobs(FakeJobRepository):
    """A worker (or another administrator) changes the job and commits right after our read."""

    def __init__(self, change: Callable[[Job], None]) -> None:
        super().__init__()
        self._change = change
        self.raced: Job | None = None

    async def get(self, job_id: UUID) -> Job | None:
        ours = await super().get(job_id)
        if ours is not None and self.raced is None:
            theirs = dataclasses.replace(ours)
            self._change(theirs)
            theirs.version += 1
            self._committed[job_id] = self._rows()[job_id] = theirs
            self.raced = dataclasses.replace(theirs)
        return ours


@pytest.mark.parametrize(
    ("job_of", "change", "use_case"),
    [
        (dead, lambda job: job.retry(job.updated_at), _retry),
        (
            lambda clock: make_job(now=clock.now()),
            lambda job: job.start("host/2", job.updated_at, LEASE),
            _cancel,
        ),
    ],
    ids=["retry of a job retried meanwhile", "cancel of a job a worker started meanwhile"],
)
async def test_a_change_made_between_read_and_write_is_refused_and_kept(
    policy: FakeAccessPolicy,
    clock: FakeClock,
    job_of: Callable[[FakeClock], Job],
    change: Callable[[Job], None],
    use_case: UseCase,
) -> None:
    racing = RacingJobs(change)
    uow = FakeUnitOfWork(jobs=racing)
    events = FakeEventPublisher(uow)
    job = job_of(clock)
    await stored(uow, job)

    with pytest.raises(JobChangedConcurrentlyError):
        await use_case(uow, policy, clock, events, ADMIN, job.id)

    assert racing.raced is not None
    assert committed(uow, job.id) == racing.raced
    assert_nobody_told(uow, events)
