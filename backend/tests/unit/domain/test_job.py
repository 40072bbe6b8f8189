"""The job's state machine: every transition, every refusal, and the backoff between attempts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from app.domain.entities.job import (
    ERROR_MAX_LENGTH,
    Job,
    JobLeaseLostError,
    JobNotCancelableError,
    JobNotRetryableError,
    JobNotStartableError,
    JobOutOfAttemptsError,
    JobStatus,
    RetryPolicy,
)
from tests.builders import make_job
from tests.fakes import DEFAULT_NOW

LEASE = timedelta(minutes=5)
POLICY = RetryPolicy(
    max_attempts=5, backoff_base=timedelta(seconds=2), backoff_cap=timedelta(minutes=10)
)


def running(*, worker: str = "worker-a", **overrides: Any) -> Job:
    job = make_job(**overrides)
    job.start(worker, DEFAULT_NOW, LEASE)
    return job


def failed_once(**overrides: Any) -> Job:
    job = running(**overrides)
    job.fail("worker-a", "boom", DEFAULT_NOW, POLICY, jitter=lambda: 0.0)
    return job


def dead() -> Job:
    job = running(max_attempts=1)
    job.fail("worker-a", "boom", DEFAULT_NOW, POLICY)
    return job


def succeeded() -> Job:
    job = running()
    job.succeed("worker-a", DEFAULT_NOW)
    return job


def canceled() -> Job:
    job = make_job()
    job.cancel(DEFAULT_NOW)
    return job


def test_a_new_job_is_queued_due_now_with_no_attempt_and_no_lease() -> None:
    job = make_job(payload={"user_id": "u1"}, dedupe_key="k")

    assert job.status is JobStatus.QUEUED
    assert job.attempts == 0
    assert job.run_after == job.created_at == job.updated_at == DEFAULT_NOW
    assert (job.worker, job.lease_expires_at, job.finished_at) == (None, None, None)
    assert job.payload == {"user_id": "u1"}
    assert job.dedupe_key == "k"


def test_starting_a_due_job_takes_a_lease_and_counts_an_attempt() -> None:
    job = make_job()
    later = DEFAULT_NOW + timedelta(seconds=3)

    job.start("worker-a", later, LEASE)

    assert job.status is JobStatus.RUNNING
    assert job.attempts == 1
    assert job.worker == "worker-a"
    assert job.lease_expires_at == later + LEASE
    assert job.updated_at == later


def test_a_job_whose_backoff_is_not_over_cannot_start() -> None:
    job = failed_once()
    assert job.run_after > DEFAULT_NOW

    with pytest.raises(JobNotStartableError):
        job.start("worker-b", job.run_after - timedelta(microseconds=1), LEASE)
    job.start("worker-b", job.run_after, LEASE)

    assert job.status is JobStatus.RUNNING
    assert job.attempts == 2


def test_a_running_job_cannot_be_started_again_while_its_lease_holds() -> None:
    job = running()
    assert job.lease_expires_at is not None

    for worker in ("worker-a", "worker-b"):
        with pytest.raises(JobNotStartableError):
            job.start(worker, job.lease_expires_at - timedelta(microseconds=1), LEASE)
    assert job.worker == "worker-a"
    assert job.attempts == 1


def test_another_worker_takes_over_a_running_job_once_its_lease_expired_as_a_new_attempt() -> None:
    job = running()
    assert job.lease_expires_at is not None
    expired = job.lease_expires_at

    job.start("worker-b", expired, LEASE)

    assert job.worker == "worker-b"
    assert job.attempts == 2
    assert job.lease_expires_at == expired + LEASE


@pytest.mark.parametrize("finished", [succeeded, dead, canceled])
def test_a_finished_job_cannot_start(finished: Callable[[], Job]) -> None:
    job = finished()

    with pytest.raises(JobNotStartableError):
        job.start("worker-b", DEFAULT_NOW + timedelta(days=365), LEASE)


def test_a_job_whose_last_attempts_worker_vanished_is_out_of_attempts_and_unchanged() -> None:
    job = running(max_attempts=1)
    assert job.lease_expires_at is not None
    expired = job.lease_expires_at

    with pytest.raises(JobOutOfAttemptsError):
        job.start("worker-b", expired, LEASE)

    assert job.status is JobStatus.RUNNING
    assert job.attempts == 1
    assert job.worker == "worker-a"


def test_the_holding_worker_renews_its_lease_and_nobody_else_can() -> None:
    job = running()
    later = DEFAULT_NOW + timedelta(minutes=2)

    job.renew_lease("worker-a", later, LEASE)
    assert job.lease_expires_at == later + LEASE

    with pytest.raises(JobLeaseLostError):
        job.renew_lease("worker-b", later, LEASE)
    assert job.lease_expires_at == later + LEASE


def test_success_by_the_holding_worker_finishes_the_job_and_drops_the_lease() -> None:
    job = running()
    later = DEFAULT_NOW + timedelta(seconds=7)

    job.succeed("worker-a", later)

    assert job.status is JobStatus.SUCCEEDED
    assert job.finished_at == later
    assert (job.worker, job.lease_expires_at) == (None, None)
    assert job.status.is_final


@pytest.mark.parametrize(
    "record",
    [
        lambda job: job.succeed("worker-a", DEFAULT_NOW),
        lambda job: job.fail("worker-a", "boom", DEFAULT_NOW, POLICY),
        lambda job: job.release("worker-a", DEFAULT_NOW),
    ],
    ids=["succeed", "fail", "release"],
)
def test_a_worker_that_does_not_hold_the_job_cannot_record_its_outcome(
    record: Callable[[Job], None],
) -> None:
    job = running(worker="worker-b")

    with pytest.raises(JobLeaseLostError):
        record(job)

    assert job.status is JobStatus.RUNNING
    assert job.worker == "worker-b"
    assert job.attempts == 1
    assert job.last_error is None


@pytest.mark.parametrize("not_running", [make_job, failed_once, succeeded, dead, canceled])
def test_no_outcome_is_recorded_on_a_job_that_is_not_running(
    not_running: Callable[[], Job],
) -> None:
    job = not_running()
    status = job.status

    with pytest.raises(JobLeaseLostError):
        job.succeed("worker-a", DEFAULT_NOW)
    with pytest.raises(JobLeaseLostError):
        job.fail("worker-a", "boom", DEFAULT_NOW, POLICY)

    assert job.status is status


@pytest.mark.parametrize(
    ("jitter", "delay"), [(0.0, timedelta(seconds=1)), (1.0, timedelta(seconds=2))]
)
def test_a_failure_with_attempts_left_waits_its_backoff(jitter: float, delay: timedelta) -> None:
    job = running()
    later = DEFAULT_NOW + timedelta(seconds=9)

    job.fail("worker-a", "ValueError: no", later, POLICY, jitter=lambda: jitter)

    assert job.status is JobStatus.FAILED
    assert job.run_after == later + delay
    assert job.last_error == "ValueError: no"
    assert job.attempts == 1
    assert (job.worker, job.lease_expires_at) == (None, None)
    assert job.finished_at is None
    assert not job.status.is_final


def test_each_failures_backoff_lies_within_half_and_all_of_the_doubled_delay() -> None:
    job = make_job(max_attempts=10)
    now = DEFAULT_NOW
    for attempt in range(1, 6):
        job.start("worker-a", now, LEASE)
        job.fail("worker-a", "boom", now, POLICY)  # the real random jitter

        full = POLICY.backoff_base * 2 ** (attempt - 1)
        assert now + full / 2 <= job.run_after <= now + full
        now = job.run_after


def test_the_failure_of_the_last_attempt_makes_the_job_dead_with_its_error_truncated() -> None:
    job = make_job(max_attempts=2)
    job.start("worker-a", DEFAULT_NOW, LEASE)
    job.fail("worker-a", "first", DEFAULT_NOW, POLICY, jitter=lambda: 0.0)
    job.start("worker-a", job.run_after, LEASE)
    end = job.run_after + timedelta(seconds=1)

    job.fail("worker-a", "x" * (ERROR_MAX_LENGTH + 500), end, POLICY)

    assert job.status is JobStatus.DEAD
    assert job.attempts == 2
    assert job.last_error == "x" * ERROR_MAX_LENGTH
    assert job.finished_at == end
    assert (job.worker, job.lease_expires_at) == (None, None)


def test_burying_makes_any_job_dead_at_once_with_its_reason_truncated() -> None:
    job = running()

    job.bury("y" * (ERROR_MAX_LENGTH * 2), DEFAULT_NOW)

    assert job.status is JobStatus.DEAD
    assert job.attempts == 1
    assert job.last_error == "y" * ERROR_MAX_LENGTH
    assert job.finished_at == DEFAULT_NOW


def test_a_released_job_is_queued_again_at_once_with_its_attempt_undone() -> None:
    job = failed_once()
    job.start("worker-b", job.run_after, LEASE)
    later = job.run_after + timedelta(seconds=1)

    job.release("worker-b", later)

    assert job.status is JobStatus.QUEUED
    assert job.attempts == 1
    assert job.run_after == later
    assert (job.worker, job.lease_expires_at) == (None, None)
    assert job.is_startable(later)


def test_an_abandoned_job_is_queued_again_at_once_and_its_attempt_still_counts() -> None:
    job = running()
    later = DEFAULT_NOW + timedelta(seconds=1)

    job.abandon(later)

    assert job.status is JobStatus.QUEUED
    assert job.attempts == 1
    assert job.run_after == later
    assert (job.worker, job.lease_expires_at) == (None, None)


@pytest.mark.parametrize("not_running", [make_job, failed_once, succeeded, dead, canceled])
def test_only_a_running_job_can_be_abandoned(not_running: Callable[[], Job]) -> None:
    job = not_running()
    status = job.status

    with pytest.raises(JobNotStartableError):
        job.abandon(DEFAULT_NOW)
    assert job.status is status


@pytest.mark.parametrize("stopped", [failed_once, dead, canceled])
def test_retrying_a_failed_dead_or_canceled_job_queues_it_with_fresh_attempts(
    stopped: Callable[[], Job],
) -> None:
    job = stopped()
    later = DEFAULT_NOW + timedelta(hours=1)

    job.retry(later)

    assert job.status is JobStatus.QUEUED
    assert job.attempts == 0
    assert job.run_after == later
    assert job.finished_at is None
    assert (job.worker, job.lease_expires_at) == (None, None)
    job.start("worker-b", later, LEASE)
    assert job.attempts == 1


@pytest.mark.parametrize("active", [make_job, running, succeeded])
def test_a_queued_running_or_succeeded_job_cannot_be_retried(active: Callable[[], Job]) -> None:
    job = active()
    status, attempts = job.status, job.attempts

    with pytest.raises(JobNotRetryableError):
        job.retry(DEFAULT_NOW)
    assert (job.status, job.attempts) == (status, attempts)


@pytest.mark.parametrize("waiting", [make_job, failed_once])
def test_a_queued_or_failed_job_can_be_canceled(waiting: Callable[[], Job]) -> None:
    job = waiting()
    later = DEFAULT_NOW + timedelta(minutes=1)

    job.cancel(later)

    assert job.status is JobStatus.CANCELED
    assert job.finished_at == later
    assert not job.is_startable(later + timedelta(days=1))


@pytest.mark.parametrize("not_waiting", [running, succeeded, dead, canceled])
def test_a_running_or_finished_job_cannot_be_canceled(not_waiting: Callable[[], Job]) -> None:
    job = not_waiting()
    status = job.status

    with pytest.raises(JobNotCancelableError):
        job.cancel(DEFAULT_NOW)
    assert job.status is status


@pytest.mark.parametrize(
    ("attempts", "full"),
    [(0, 2), (1, 2), (2, 4), (3, 8), (4, 16), (9, 512), (10, 600), (11, 600)],
)
def test_the_delay_doubles_with_each_failed_attempt_up_to_the_cap(attempts: int, full: int) -> None:
    assert POLICY.delay_after(attempts, jitter=lambda: 1.0) == timedelta(seconds=full)
    assert POLICY.delay_after(attempts, jitter=lambda: 0.0) == timedelta(seconds=full / 2)


def test_the_random_part_of_the_delay_is_at_most_half_of_it() -> None:
    for attempts in (1, 3, 20):
        full = min(POLICY.backoff_cap, POLICY.backoff_base * 2 ** min(attempts - 1, 32))
        for _ in range(200):
            assert full / 2 <= POLICY.delay_after(attempts) <= full


@pytest.mark.parametrize("attempts", [33, 64, 10_000, 10**18])
def test_a_huge_number_of_attempts_waits_the_cap_without_overflowing(attempts: int) -> None:
    assert POLICY.delay_after(attempts, jitter=lambda: 1.0) == POLICY.backoff_cap


def test_a_long_base_delay_waits_the_cap_without_overflowing_however_many_attempts() -> None:
    policy = RetryPolicy(
        max_attempts=100, backoff_base=timedelta(days=1), backoff_cap=timedelta(days=7)
    )

    assert policy.delay_after(40, jitter=lambda: 1.0) == timedelta(days=7)
