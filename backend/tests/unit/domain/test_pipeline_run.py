"""A pipeline run's state machine: the plan its media kind fixes, the steps a caller may choose,
how steps and the run move (and what they refuse), and a progress that only grows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from app.domain.entities.pipeline import (
    ERROR_MAX_LENGTH,
    PLANS,
    InvalidStepsError,
    MediaKind,
    PipelineRun,
    RunFinishedError,
    RunNotRetryableError,
    RunStatus,
    StepName,
    StepNotInRunError,
    StepNotRunnableError,
    StepStatus,
    planned_steps,
)
from app.domain.value_objects.identifiers import new_id
from tests.fakes import DEFAULT_NOW

T = StepName.TRANSCRIBE
X = StepName.EXTRACT
C = StepName.CHUNK
E = StepName.EMBED
I = StepName.INDEX  # noqa: E741 (the initial of the index step, like the others)


def make_run(kind: MediaKind = MediaKind.DOCUMENT, **overrides: Any) -> PipelineRun:
    fields: dict[str, Any] = {
        "owner_id": new_id(),
        "resource_id": new_id(),
        "file_id": new_id(),
        "media_type": "text/plain" if kind is MediaKind.DOCUMENT else "audio/flac",
        "kind": kind,
        "requested_steps": None,
        "now": DEFAULT_NOW,
        **overrides,
    }
    return PipelineRun.create(**fields)


def at(seconds: float) -> Any:
    return DEFAULT_NOW + timedelta(seconds=seconds)


def statuses(run: PipelineRun) -> list[tuple[StepName, StepStatus]]:
    return [(step.name, step.status) for step in run.steps]


def run_through(run: PipelineRun, *names: StepName) -> None:
    for offset, name in enumerate(names):
        run.start_step(name, at(offset))
        run.finish_step(name, at(offset + 0.5))


# ------------------------------------------------------------------------------------- plans
def test_audio_is_transcribed_and_a_document_extracted_then_both_chunked_embedded_indexed() -> None:
    assert PLANS[MediaKind.AUDIO] == (T, C, E, I)
    assert PLANS[MediaKind.DOCUMENT] == (X, C, E, I)
    assert planned_steps(MediaKind.AUDIO, None) == (T, C, E, I)


@pytest.mark.parametrize(
    ("kind", "requested", "chosen"),
    [
        (MediaKind.AUDIO, ["transcribe"], (T,)),
        (MediaKind.AUDIO, ["transcribe", "chunk"], (T, C)),
        (MediaKind.DOCUMENT, ["extract", "chunk", "embed"], (X, C, E)),
        (MediaKind.DOCUMENT, ["extract", "chunk", "embed", "index"], (X, C, E, I)),
    ],
)
def test_a_prefix_of_the_plan_may_be_chosen(
    kind: MediaKind, requested: list[str], chosen: tuple[StepName, ...]
) -> None:
    assert planned_steps(kind, requested) == chosen


@pytest.mark.parametrize(
    "requested",
    [
        [],
        ["chunk"],  # skips the first step
        ["extract", "embed"],  # skips one in the middle
        ["chunk", "extract"],  # out of order
        ["extract", "extract"],  # twice
        ["extract", "chunk", "chunk"],
        ["transcribe"],  # another kind's first step
        ["Extract"],  # names are exact
        ["extract", "summarise"],
        ["extract", "chunk", "embed", "index", "index"],  # longer than the plan
    ],
)
def test_steps_that_are_not_a_prefix_of_the_plan_are_refused(requested: list[str]) -> None:
    with pytest.raises(InvalidStepsError) as raised:
        planned_steps(MediaKind.DOCUMENT, requested)
    assert raised.value.code == "pipeline.invalid_steps"
    assert raised.value.field == "steps"


def test_an_empty_choice_is_refused_with_its_own_reason() -> None:
    with pytest.raises(InvalidStepsError) as raised:
        planned_steps(MediaKind.AUDIO, [])
    assert raised.value.field == "steps"
    assert raised.value.reason == "must name at least one step"


def test_a_new_run_is_queued_with_the_chosen_steps_pending_and_the_others_skipped() -> None:
    run = make_run(MediaKind.AUDIO, requested_steps=["transcribe", "chunk"])

    assert run.status is RunStatus.QUEUED
    assert statuses(run) == [
        (T, StepStatus.PENDING),
        (C, StepStatus.PENDING),
        (E, StepStatus.SKIPPED),
        (I, StepStatus.SKIPPED),
    ]
    assert (run.progress, run.version, run.finished_at) == (0, 1, None)
    assert run.created_at == run.updated_at == DEFAULT_NOW


def test_creating_a_run_with_invalid_steps_makes_none() -> None:
    with pytest.raises(InvalidStepsError):
        make_run(requested_steps=["embed"])


def test_a_run_keeps_the_id_it_is_given_and_makes_one_otherwise() -> None:
    reserved = new_id()
    assert make_run(run_id=reserved).id == reserved
    assert make_run().id != make_run().id


def test_a_step_outside_the_runs_plan_is_not_in_the_run() -> None:
    run = make_run(MediaKind.DOCUMENT)
    with pytest.raises(StepNotInRunError):
        run.step(T)
    with pytest.raises(StepNotInRunError):
        run.start_step(T, at(1))


# ------------------------------------------------------------------------------- transitions
def test_a_run_goes_step_by_step_to_success() -> None:
    run = make_run()

    started = run.start_step(X, at(1))
    assert (started.status, started.attempts, started.started_at) == (StepStatus.RUNNING, 1, at(1))
    assert (run.status, run.finished_at) == (RunStatus.RUNNING, None)

    assert run.finish_step(X, at(2)) is run.step(C)
    assert statuses(run)[1] == (C, StepStatus.PENDING)
    run_through(run, C, E)
    run.start_step(I, at(10))

    assert run.finish_step(I, at(11)) is None
    assert run.status is RunStatus.SUCCEEDED
    assert run.finished_at == at(11)
    assert run.progress == 100
    assert all(step.status is StepStatus.SUCCEEDED for step in run.steps)


def test_a_run_of_chosen_steps_succeeds_after_its_last_chosen_step() -> None:
    run = make_run(requested_steps=["extract", "chunk"])
    run_through(run, X)
    run.start_step(C, at(5))

    assert run.finish_step(C, at(6)) is None
    assert run.status is RunStatus.SUCCEEDED
    assert run.progress == 100
    assert run.step(E).status is StepStatus.SKIPPED


@pytest.mark.parametrize("name", [C, E, I])
def test_only_the_next_step_may_start(name: StepName) -> None:
    run = make_run()
    with pytest.raises(StepNotRunnableError):
        run.start_step(name, at(1))
    assert run.status is RunStatus.QUEUED
    assert run.version == 1


def test_a_finished_step_does_not_start_again() -> None:
    run = make_run()
    run_through(run, X)
    with pytest.raises(StepNotRunnableError):
        run.start_step(X, at(5))


def test_a_skipped_step_never_starts() -> None:
    run = make_run(requested_steps=["extract"])
    run_through(run, X)
    with pytest.raises(RunFinishedError):
        run.start_step(C, at(5))


def test_starting_a_running_step_again_counts_another_attempt_and_keeps_its_first_start() -> None:
    run = make_run()
    run.start_step(X, at(1))
    run.note_attempt_failed(X, "ModelServiceUnavailableError: busy", at(2))

    again = run.start_step(X, at(30))

    assert (again.attempts, again.started_at, again.error) == (2, at(1), None)


@pytest.mark.parametrize(
    "change",
    [
        lambda run: run.finish_step(X, at(1)),
        lambda run: run.report_progress(X, 0.5, at(1)),
        lambda run: run.note_attempt_failed(X, "boom", at(1)),
    ],
    ids=["finish", "progress", "note"],
)
def test_a_step_that_is_not_running_cannot_finish_report_or_note_a_failure(
    change: Callable[[PipelineRun], object],
) -> None:
    run = make_run()
    with pytest.raises(StepNotRunnableError):
        change(run)


def test_a_failed_attempt_keeps_the_step_running_with_its_error_bounded() -> None:
    run = make_run()
    run.start_step(X, at(1))

    run.note_attempt_failed(X, "x" * (ERROR_MAX_LENGTH + 100), at(2))

    step = run.step(X)
    assert step.status is StepStatus.RUNNING
    assert step.error == "x" * ERROR_MAX_LENGTH
    assert run.status is RunStatus.RUNNING


def test_failing_a_step_fails_the_run_with_the_error_bounded() -> None:
    run = make_run()
    run_through(run, X)
    run.start_step(C, at(3))

    run.fail_step(C, "MediaUnreadableError: " + "y" * 1000, at(4))

    step = run.step(C)
    assert step.status is StepStatus.FAILED
    assert step.finished_at == at(4)
    assert step.error is not None
    assert len(step.error) == ERROR_MAX_LENGTH
    assert step.error.startswith("MediaUnreadableError: y")
    assert (run.status, run.finished_at) == (RunStatus.FAILED, at(4))
    assert run.progress < 100


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED])
def test_a_finished_run_refuses_every_change_of_its_steps(status: RunStatus) -> None:
    run = finished_run(status)
    version = run.version
    with pytest.raises(RunFinishedError):
        run.start_step(X, at(50))
    with pytest.raises(RunFinishedError):
        run.fail_step(X, "late", at(50))
    with pytest.raises(RunFinishedError):
        run.finish_step(X, at(50))
    with pytest.raises(RunFinishedError):
        run.report_progress(X, 0.5, at(50))
    assert run.version == version


def finished_run(status: RunStatus) -> PipelineRun:
    run = make_run(requested_steps=["extract"])
    run.start_step(X, at(1))
    if status is RunStatus.SUCCEEDED:
        run.finish_step(X, at(2))
    elif status is RunStatus.FAILED:
        run.fail_step(X, "MediaUnreadableError: no text", at(2))
    else:
        run.cancel(at(2))
    assert run.status is status
    return run


def test_retry_resumes_a_failed_run_from_its_failed_step_and_keeps_the_finished_ones() -> None:
    run = make_run()
    run_through(run, X, C)
    run.start_step(E, at(10))
    run.report_progress(E, 0.5, at(11))
    run.fail_step(E, "ModelServiceUnavailableError: out of attempts", at(12))
    progress = run.progress

    resumed = run.retry(at(20))

    assert resumed is run.step(E)
    assert (resumed.status, resumed.fraction, resumed.finished_at) == (
        StepStatus.PENDING,
        0.0,
        None,
    )
    assert resumed.attempts == 1  # the attempts it made are still counted
    assert (run.status, run.finished_at) == (RunStatus.QUEUED, None)
    assert [run.step(n).status for n in (X, C)] == [StepStatus.SUCCEEDED, StepStatus.SUCCEEDED]
    assert run.progress == progress  # the fraction it lost does not lower the progress
    assert run.start_step(E, at(21)).attempts == 2


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.CANCELED])
def test_only_a_failed_run_may_be_retried(status: RunStatus) -> None:
    run = finished_run(status)
    with pytest.raises(RunNotRetryableError):
        run.retry(at(30))


@pytest.mark.parametrize("started", [False, True])
def test_a_queued_or_running_run_may_not_be_retried(started: bool) -> None:
    run = make_run()
    if started:
        run.start_step(X, at(1))
    with pytest.raises(RunNotRetryableError):
        run.retry(at(2))


def test_cancel_skips_the_steps_never_tried_and_fails_the_one_running() -> None:
    run = make_run()
    run_through(run, X)
    run.start_step(C, at(3))

    assert run.cancel(at(4)) is True

    assert statuses(run) == [
        (X, StepStatus.SUCCEEDED),
        (C, StepStatus.FAILED),
        (E, StepStatus.SKIPPED),
        (I, StepStatus.SKIPPED),
    ]
    assert run.step(C).error == "canceled: the file was deleted"
    assert run.step(C).finished_at == at(4)
    assert run.step(E).finished_at is None
    assert (run.status, run.finished_at) == (RunStatus.CANCELED, at(4))


def test_a_failed_run_may_be_canceled_and_a_retried_step_with_attempts_is_then_failed() -> None:
    run = make_run()
    run.start_step(X, at(1))
    run.fail_step(X, "boom", at(2))
    run.retry(at(3))  # pending again, with one attempt made

    assert run.cancel(at(4)) is True
    assert run.step(X).status is StepStatus.FAILED
    assert run.status is RunStatus.CANCELED


@pytest.mark.parametrize("status", [RunStatus.SUCCEEDED, RunStatus.CANCELED])
def test_cancel_leaves_a_succeeded_or_canceled_run_as_it_was(status: RunStatus) -> None:
    run = finished_run(status)
    before = (statuses(run), run.version, run.finished_at, run.updated_at)

    assert run.cancel(at(99)) is False

    assert (statuses(run), run.version, run.finished_at, run.updated_at) == before


def test_a_failed_run_is_canceled() -> None:
    run = finished_run(RunStatus.FAILED)
    assert run.cancel(at(10)) is True
    assert run.status is RunStatus.CANCELED


# ---------------------------------------------------------------------------------- progress
def test_progress_counts_finished_steps_and_the_running_steps_fraction() -> None:
    run = make_run()  # four chosen steps: each is a quarter
    run_through(run, X)
    assert run.progress == 25
    run_through(run, C)
    assert run.progress == 50
    run.start_step(E, at(10))
    run.report_progress(E, 0.5, at(11))
    assert run.progress == 62  # (2 + 0.5) / 4, rounded down
    run.report_progress(E, 1.0, at(12))
    assert run.progress == 75


def test_skipped_steps_do_not_count_towards_progress() -> None:
    run = make_run(requested_steps=["extract", "chunk"])
    run_through(run, X)
    assert run.progress == 50


def test_progress_stays_below_100_until_the_run_has_succeeded() -> None:
    run = make_run(requested_steps=["extract"])
    run.start_step(X, at(1))
    run.report_progress(X, 1.0, at(2))
    assert run.progress == 99
    run.finish_step(X, at(3))
    assert run.progress == 100


def test_a_fraction_never_goes_back_nor_past_one() -> None:
    run = make_run()
    run.start_step(X, at(1))
    run.report_progress(X, 0.6, at(2))
    run.report_progress(X, 0.2, at(3))
    assert run.step(X).fraction == 0.6
    run.report_progress(X, 7.0, at(4))
    assert run.step(X).fraction == 1.0


def test_progress_never_falls_whatever_happens_to_the_run() -> None:
    run = make_run()
    seen = [run.progress]
    run_through(run, X)
    seen.append(run.progress)
    run.start_step(C, at(5))
    run.report_progress(C, 0.8, at(6))
    seen.append(run.progress)
    run.fail_step(C, "boom", at(7))
    seen.append(run.progress)
    run.retry(at(8))  # the chunk step's fraction goes back to 0
    seen.append(run.progress)
    run.start_step(C, at(9))
    seen.append(run.progress)
    run.cancel(at(10))
    seen.append(run.progress)

    assert seen == sorted(seen)
    assert seen[-2] == 45  # (1 + 0.8) / 4, kept through the retry
    # Canceling leaves progress where the work stopped (the steps it skips were planned).
    assert seen[-1] == 45


# ----------------------------------------------------------------------- versions and times
def test_every_change_bumps_the_version_and_the_update_time() -> None:
    run = make_run()
    changes: list[Callable[[], object]] = [
        lambda: run.start_step(X, at(1)),
        lambda: run.report_progress(X, 0.5, at(2)),
        lambda: run.note_attempt_failed(X, "busy", at(3)),
        lambda: run.start_step(X, at(4)),
        lambda: run.fail_step(X, "boom", at(5)),
        lambda: run.retry(at(6)),
        lambda: run.start_step(X, at(7)),
        lambda: run.finish_step(X, at(8)),
        lambda: run.cancel(at(9)),
    ]
    for expected_version, change in enumerate(changes, start=2):
        change()
        assert run.version == expected_version
        assert run.updated_at == at(expected_version - 1)


def test_a_refused_change_changes_nothing() -> None:
    run = make_run()
    run_through(run, X)
    before = (statuses(run), run.version, run.updated_at, run.progress)
    with pytest.raises(StepNotRunnableError):
        run.finish_step(C, at(50))
    with pytest.raises(StepNotRunnableError):
        run.start_step(E, at(50))
    assert (statuses(run), run.version, run.updated_at, run.progress) == before


def test_a_steps_duration_runs_from_its_first_start_to_its_finish_in_milliseconds() -> None:
    run = make_run()
    step = run.start_step(X, at(1))
    assert step.duration_ms is None
    run.start_step(X, at(3))  # a second attempt
    run.finish_step(X, at(4.2506))

    assert step.duration_ms == 3251
    assert run.step(C).duration_ms is None


def test_a_run_is_finished_only_when_it_succeeded_failed_or_was_canceled() -> None:
    assert [status for status in RunStatus if status.is_finished] == [
        RunStatus.SUCCEEDED,
        RunStatus.FAILED,
        RunStatus.CANCELED,
    ]
