"""A pipeline run: one file read step by step into searchable chunks, and the record of each step.

A run follows a plan fixed when it is created: audio is transcribed, a document's text extracted;
either text is then chunked, the chunks embedded, and the embeddings indexed. Each step reads what
the step before it made, so a run may stop early (`steps` chooses the plan up to a step) but never
skip one in the middle; steps left out are `skipped`.

    run:  queued ──▶ running ──▶ succeeded
                       │  ▲
                       ▼  └──retry──┐
                      failed ───────┘          (and from any unfinished status: canceled)

    step: pending ──▶ running ──▶ succeeded
                        │ ▲
                        ▼ └──retry── failed

Every stored change bumps `version`; the run's event stream numbers its events by it, so a client
that reconnects after event N is sent every change after N. Progress (0 to 100) only ever grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Self
from uuid import UUID

from app.domain.errors import ConflictError, InvalidValueError, NotFoundError
from app.domain.value_objects.identifiers import new_id

# What we keep of a failure's message: enough to diagnose, bounded in size.
ERROR_MAX_LENGTH = 500


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # a step failed for good; `retry` resumes from it
    CANCELED = "canceled"  # its file was deleted

    @property
    def is_finished(self) -> bool:
        """Nothing more will happen to the run by itself."""
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELED)


class StepStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepName(StrEnum):
    TRANSCRIBE = "transcribe"
    EXTRACT = "extract"
    CHUNK = "chunk"
    EMBED = "embed"
    INDEX = "index"


class MediaKind(StrEnum):
    """What a pipeline can read of a file."""

    AUDIO = "audio"
    DOCUMENT = "document"  # PDF or text


PLANS: dict[MediaKind, tuple[StepName, ...]] = {
    MediaKind.AUDIO: (StepName.TRANSCRIBE, StepName.CHUNK, StepName.EMBED, StepName.INDEX),
    MediaKind.DOCUMENT: (StepName.EXTRACT, StepName.CHUNK, StepName.EMBED, StepName.INDEX),
}


def planned_steps(kind: MediaKind, requested: Sequence[str] | None) -> tuple[StepName, ...]:
    """The steps a run of `kind` will run: all of its plan, or the `requested` ones, which must be
    the plan up to some step, in order (each step reads what the one before it made)."""
    plan = PLANS[kind]
    if requested is None:
        return plan
    if not requested:
        raise InvalidStepsError(reason="must name at least one step")
    if tuple(requested) != tuple(step.value for step in plan[: len(requested)]):
        expected = ", ".join(step.value for step in plan)
        raise InvalidStepsError(
            reason=f"must be the steps of this file's plan from its first, in order: {expected}"
        )
    return plan[: len(requested)]


@dataclass(slots=True, kw_only=True)
class PipelineStep:
    name: StepName
    status: StepStatus = StepStatus.PENDING
    attempts: int = 0
    started_at: datetime | None = None  # of its first attempt
    finished_at: datetime | None = None
    error: str | None = None
    # How far the running step has got, 0.0 to 1.0 (the embed step reports it batch by batch).
    fraction: float = 0.0

    @property
    def duration_ms(self) -> int | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds() * 1000)

    @property
    def is_done(self) -> bool:
        return self.status in (StepStatus.SUCCEEDED, StepStatus.SKIPPED)


@dataclass(slots=True, kw_only=True)
class PipelineRun:
    id: UUID
    owner_id: UUID  # the owner of the file it reads
    resource_id: UUID
    file_id: UUID
    media_type: str
    status: RunStatus
    steps: list[PipelineStep]
    progress: int  # 0 to 100, never lower than before
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    version: int = field(default=1)

    @classmethod
    def create(
        cls,
        *,
        owner_id: UUID,
        resource_id: UUID,
        file_id: UUID,
        media_type: str,
        kind: MediaKind,
        requested_steps: Sequence[str] | None,
        now: datetime,
        run_id: UUID | None = None,
    ) -> Self:
        chosen = planned_steps(kind, requested_steps)
        steps = [
            PipelineStep(
                name=name, status=StepStatus.PENDING if name in chosen else StepStatus.SKIPPED
            )
            for name in PLANS[kind]
        ]
        return cls(
            id=run_id or new_id(),
            owner_id=owner_id,
            resource_id=resource_id,
            file_id=file_id,
            media_type=media_type,
            status=RunStatus.QUEUED,
            steps=steps,
            progress=0,
            created_at=now,
            updated_at=now,
        )

    # ------------------------------------------------------------------------------ reading
    def step(self, name: StepName) -> PipelineStep:
        for step in self.steps:
            if step.name is name:
                return step
        raise StepNotInRunError(step=name.value)

    def next_step(self) -> PipelineStep | None:
        """The first step still to run (pending, running or failed), or None when all are done."""
        return next((step for step in self.steps if not step.is_done), None)

    # ---------------------------------------------------------------------------- changes
    def start_step(self, name: StepName, now: datetime) -> PipelineStep:
        """Begin an attempt of `name`, the run's next step (again, after a failed attempt or a
        worker that died during one)."""
        self._ensure_unfinished()
        step = self.step(name)
        if self.next_step() is not step:
            raise StepNotRunnableError(step=name.value)
        step.status = StepStatus.RUNNING
        step.attempts += 1
        step.started_at = step.started_at or now
        step.error = None
        self.status = RunStatus.RUNNING
        self._changed(now)
        return step

    def report_progress(self, name: StepName, fraction: float, now: datetime) -> None:
        step = self._running(name)
        step.fraction = min(max(fraction, step.fraction), 1.0)
        self._changed(now)

    def finish_step(self, name: StepName, now: datetime) -> PipelineStep | None:
        """Record `name` as done; the next step to run, or None if that was the last one (the run
        has then succeeded)."""
        step = self._running(name)
        step.status = StepStatus.SUCCEEDED
        step.fraction = 1.0
        step.finished_at = now
        following = self.next_step()
        if following is None:
            self.status = RunStatus.SUCCEEDED
            self.finished_at = now
        self._changed(now)
        return following

    def note_attempt_failed(self, name: StepName, error: str, now: datetime) -> None:
        """An attempt failed and another will follow: the step stays running, its error shown."""
        step = self._running(name)
        step.error = error[:ERROR_MAX_LENGTH]
        self._changed(now)

    def fail_step(self, name: StepName, error: str, now: datetime) -> None:
        """The step failed for good (unreadable input, or out of attempts): so does the run."""
        self._ensure_unfinished()
        step = self.step(name)
        step.status = StepStatus.FAILED
        step.error = error[:ERROR_MAX_LENGTH]
        step.finished_at = now
        self.status = RunStatus.FAILED
        self.finished_at = now
        self._changed(now)

    def retry(self, now: datetime) -> PipelineStep:
        """Resume a failed run from its first unfinished step; that step, ready to run again."""
        if self.status is not RunStatus.FAILED:
            raise RunNotRetryableError(status=self.status.value)
        step = self.next_step()
        if step is None:  # a failed run always has an unfinished step; kept for the type
            raise RunNotRetryableError(status=self.status.value)
        step.status = StepStatus.PENDING
        step.finished_at = None
        step.fraction = 0.0
        self.status = RunStatus.QUEUED
        self.finished_at = None
        self._changed(now)
        return step

    def cancel(self, now: datetime) -> bool:
        """Its file is gone: stop. False if the run had finished already (it stays as it was)."""
        if self.status in (RunStatus.SUCCEEDED, RunStatus.CANCELED):
            return False
        for step in self.steps:
            if step.status in (StepStatus.PENDING, StepStatus.RUNNING):
                step.status = StepStatus.SKIPPED if step.attempts == 0 else StepStatus.FAILED
                if step.status is StepStatus.FAILED:
                    step.error = "canceled: the file was deleted"
                    step.finished_at = now
        self.status = RunStatus.CANCELED
        self.finished_at = now
        # Progress stays where the work stopped: the steps now skipped were planned.
        self._changed(now, recount=False)
        return True

    # ---------------------------------------------------------------------------- helpers
    def _running(self, name: StepName) -> PipelineStep:
        self._ensure_unfinished()
        step = self.step(name)
        if step.status is not StepStatus.RUNNING:
            raise StepNotRunnableError(step=name.value)
        return step

    def _ensure_unfinished(self) -> None:
        if self.status.is_finished:
            raise RunFinishedError(status=self.status.value)

    def _changed(self, now: datetime, *, recount: bool = True) -> None:
        self.updated_at = now
        self.version += 1
        if not recount:
            return
        if self.status is RunStatus.SUCCEEDED:
            self.progress = 100
            return
        chosen = [step for step in self.steps if step.status is not StepStatus.SKIPPED]
        if not chosen:
            return
        done = sum(1.0 if step.status is StepStatus.SUCCEEDED else step.fraction for step in chosen)
        # Below 100 until the run has succeeded, however far its steps got.
        self.progress = max(self.progress, min(99, int(100 * done / len(chosen))))


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineArtifact:
    """What a step made, one per (run, step): a text (stored encrypted, like files, under its own
    data key) and/or a summary of plain facts (counts, the model, the index)."""

    id: UUID
    run_id: UUID
    owner_id: UUID
    step: StepName
    kind: str  # "transcript", "text", "chunks", "embeddings", "index"
    summary: dict[str, object]
    created_at: datetime
    # The encrypted text, when the step made one (the file storage's sealed blob).
    size: int | None = None
    sha256: str | None = None
    key_id: str | None = None
    wrapped_key: bytes | None = None
    storage_key: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    """A piece of a run's text, as searched: its place in the text (character offsets, end
    exclusive) and where it came from."""

    run_id: UUID
    seq: int
    owner_id: UUID
    resource_id: UUID
    file_id: UUID
    text: str
    start: int
    end: int


# Errors of pipelines
class PipelineRunNotFoundError(NotFoundError):
    code = "pipeline.not_found"


class InvalidStepsError(InvalidValueError):
    code = "pipeline.invalid_steps"

    def __init__(self, *, reason: str) -> None:
        super().__init__(field="steps", reason=reason)


class RunNotFinishedError(ConflictError):
    """The result of a run that has not succeeded."""

    code = "pipeline.not_finished"


class RunNotRetryableError(ConflictError):
    code = "pipeline.not_retryable"


class RunFinishedError(ConflictError):
    code = "pipeline.finished"


class StepNotRunnableError(ConflictError):
    code = "pipeline.step_not_runnable"


class StepNotInRunError(ConflictError):
    code = "pipeline.step_not_in_run"
