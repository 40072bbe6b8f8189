"""The orchestrator: runs one step of a run as a background job, then queues the next step's job.

One job per step (kind `pipeline.step`, payload `{run_id, step}`). Running it:
1. begins the step in a transaction of its own: the run must still want this step (a duplicate
   delivery, or a job of a run since canceled or finished, does nothing), and the run's file must
   still exist (else the run is canceled);
2. runs the step's port outside any transaction (it may take minutes), through a workspace whose
   every write is idempotent (chunks by sequence number, embeddings by chunk);
3. finishes it in one transaction: the artifact, keyed by (run, step) so a second attempt adds
   none; the step's timings; and the next step's job, or the run's success.
A failure the input causes (unreadable media) fails the step and the run at once; any other is
retried with the job's backoff, and fails them once the job has no attempt left. A text artifact
is stored encrypted under an id of its attempt, so two attempts never write one blob (an attempt
that loses the run to a cancel removes its own; one killed between storing its text and
committing leaves that blob unreferenced and unreadable: its data key was never stored).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import NAMESPACE_URL, UUID, uuid5

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.pipeline import (
    EmbeddingModel,
    MediaUnreadableError,
    PipelineStepRunner,
    PipelineUnitOfWork,
    StepOutput,
)
from app.application.interfaces.resource import FileStorage
from app.application.services.jobs import JobFactory
from app.application.use_cases.pipeline.artifacts import artifact_file, discard_runs_data
from app.domain.entities.job import Job
from app.domain.entities.pipeline import (
    Chunk,
    PipelineArtifact,
    PipelineRun,
    StepName,
    StepStatus,
)
from app.domain.entities.resource import StoredFile
from app.domain.errors import CodedError, InvalidValueError
from app.domain.events import DomainEvent

logger = logging.getLogger("strata.pipelines")

STEP_JOB = "pipeline.step"
# Failures of the input: another attempt would fail the same way.
PERMANENT_FAILURES: tuple[type[Exception], ...] = (MediaUnreadableError, InvalidValueError)
# A text artifact larger than this is refused (a transcript of hours is far below it).
MAX_TEXT_ARTIFACT_BYTES = 64 * 1024 * 1024
# How often a change is retried when another process changed the run meanwhile.
_CHANGE_ATTEMPTS = 5


def step_job(run_id: UUID, step: StepName) -> tuple[str, dict[str, str]]:
    return STEP_JOB, {"run_id": str(run_id), "step": step.value}


class RunPipelineStep:
    """The handler of `pipeline.step` jobs."""

    def __init__(
        self,
        unit_of_work: Callable[[], PipelineUnitOfWork],
        steps: Mapping[StepName, PipelineStepRunner],
        storage: FileStorage,
        jobs: JobFactory,
        relay: EventRelay,
        clock: Clock,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._steps = steps
        self._storage = storage
        self._jobs = jobs
        self._relay = relay
        self._clock = clock

    async def __call__(self, job: Job) -> None:
        run_id = UUID(str(job.payload["run_id"]))
        name = StepName(str(job.payload["step"]))
        begun = await self._begin(run_id, name)
        if begun is None:
            return
        run, stored_file = begun
        workspace = _Workspace(
            run, stored_file, self._unit_of_work, self._storage, self._report_progress
        )
        try:
            output = await self._steps[name].run(run, workspace)
        except Exception as error:
            if not isinstance(error, CodedError):
                logger.warning(
                    "pipeline step raised",
                    extra={"run_id": str(run_id), "step": name.value},
                    exc_info=True,
                )
            last_attempt = job.attempts >= job.max_attempts
            if isinstance(error, PERMANENT_FAILURES) or last_attempt:
                await self._fail(run_id, name, _describe(error))
                return
            await self._note_failure(run_id, name, _describe(error))
            raise
        await self._finish(run, name, output)

    # ------------------------------------------------------------------------------- begin
    async def _begin(self, run_id: UUID, name: StepName) -> tuple[PipelineRun, StoredFile] | None:
        for _ in range(_CHANGE_ATTEMPTS):
            async with self._unit_of_work() as uow:
                run = await uow.pipeline_runs.get(run_id)
                if run is None or run.status.is_finished or run.next_step() is not run.step(name):
                    return None  # deleted, finished, or this step is not the one due
                stored_file = await uow.resource_files.get(run.resource_id, run.file_id)
                if stored_file is None:
                    await self._cancel_in(uow, run)
                    return None
                expected = run.version
                attempt = run.start_step(name, self._clock.now()).attempts
                if not await uow.pipeline_runs.update(run, expected_version=expected):
                    continue
                await uow.commit()
            logger.info(
                "pipeline step started",
                extra={"run_id": str(run_id), "step": name.value, "attempt": attempt},
            )
            return run, stored_file
        raise RuntimeError("the run kept changing while its step was being started")

    async def _cancel_in(self, uow: PipelineUnitOfWork, run: PipelineRun) -> None:
        expected = run.version
        if run.cancel(self._clock.now()):
            discarded = await discard_runs_data(uow, [run.id])
            if await uow.pipeline_runs.update(run, expected_version=expected):
                await uow.commit()
                await self._storage.delete_all(discarded)
                logger.info("pipeline run canceled", extra={"run_id": str(run.id)})

    # ------------------------------------------------------------------------------ finish
    async def _finish(self, begun: PipelineRun, name: StepName, output: StepOutput) -> None:
        run_id = begun.id
        artifact = await self._artifact(begun, name, output)
        wanted = True
        for _ in range(_CHANGE_ATTEMPTS):
            events: list[DomainEvent] = []
            async with self._unit_of_work() as uow:
                run = await uow.pipeline_runs.get(run_id)
                if run is None or run.step(name).status is not StepStatus.RUNNING:
                    wanted = False  # canceled (or deleted) while the step ran
                    break
                expected = run.version
                await uow.pipeline_artifacts.add_if_absent(artifact)
                following = run.finish_step(name, self._clock.now())
                if following is not None:
                    kind, payload = step_job(run_id, following.name)
                    _, queued = await self._jobs.enqueue(uow, kind, payload, owner_id=run.owner_id)
                    events.append(queued)
                if not await uow.pipeline_runs.update(run, expected_version=expected):
                    continue
                await uow.commit()
            logger.info(
                "pipeline step succeeded",
                extra={"run_id": str(run_id), "step": name.value, "run_status": run.status.value},
            )
            await self._relay.relay(events)
            return
        if artifact.storage_key is not None:  # never referenced: its data key was not stored
            await self._storage.delete_all([artifact.storage_key])
        if wanted:  # another process kept changing the run: the job's next attempt finishes it
            raise RuntimeError("the run kept changing while its step was being finished")

    async def _artifact(
        self, run: PipelineRun, name: StepName, output: StepOutput
    ) -> PipelineArtifact:
        artifact_id = uuid5(
            NAMESPACE_URL, f"strata:pipeline:{run.id}/{name}/{run.step(name).attempts}"
        )
        sealed = None
        if output.text is not None:
            sealed = await self._storage.save(
                artifact_id, _single(output.text.encode()), max_bytes=MAX_TEXT_ARTIFACT_BYTES
            )
        return PipelineArtifact(
            id=artifact_id,
            run_id=run.id,
            owner_id=run.owner_id,
            step=name,
            kind=output.kind,
            summary=dict(output.summary),
            created_at=self._clock.now(),
            size=sealed.size if sealed else None,
            sha256=sealed.sha256 if sealed else None,
            key_id=sealed.key_id if sealed else None,
            wrapped_key=sealed.wrapped_key if sealed else None,
            storage_key=sealed.storage_key if sealed else None,
        )

    # ----------------------------------------------------------------------------- failure
    async def _note_failure(self, run_id: UUID, name: StepName, error: str) -> None:
        await self._change(
            run_id, name, lambda run: run.note_attempt_failed(name, error, self._clock.now())
        )
        logger.warning(
            "pipeline step attempt failed",
            extra={
                "run_id": str(run_id),
                "step": name.value,
                "error": error.split(":", maxsplit=1)[0],
            },
        )

    async def _fail(self, run_id: UUID, name: StepName, error: str) -> None:
        await self._change(run_id, name, lambda run: run.fail_step(name, error, self._clock.now()))
        logger.warning(
            "pipeline step failed",
            extra={
                "run_id": str(run_id),
                "step": name.value,
                "error": error.split(":", maxsplit=1)[0],
            },
        )

    async def _change(
        self, run_id: UUID, name: StepName, change: Callable[[PipelineRun], None]
    ) -> None:
        for _ in range(_CHANGE_ATTEMPTS):
            async with self._unit_of_work() as uow:
                run = await uow.pipeline_runs.get(run_id)
                if run is None or run.step(name).status is not StepStatus.RUNNING:
                    return
                expected = run.version
                change(run)
                if await uow.pipeline_runs.update(run, expected_version=expected):
                    await uow.commit()
                    return

    async def _report_progress(self, run_id: UUID, name: StepName, fraction: float) -> None:
        await self._change(
            run_id, name, lambda run: run.report_progress(name, fraction, self._clock.now())
        )


@dataclass
class _Workspace:
    """The workspace of one attempt of one step (see `StepWorkspace`)."""

    run: PipelineRun
    stored_file: StoredFile
    unit_of_work: Callable[[], PipelineUnitOfWork]
    storage: FileStorage
    report_progress: Callable[[UUID, StepName, float], Awaitable[None]]

    async def read_file(self) -> bytes:
        return b"".join([piece async for piece in self.storage.open(self.stored_file)])

    async def read_text(self) -> str:
        async with self.unit_of_work() as uow:
            artifacts = await uow.pipeline_artifacts.list_for_run(self.run.id)
        texts = [artifact for artifact in artifacts if artifact.storage_key is not None]
        if not texts:
            raise RuntimeError("the run has no text to read: its first step made none")
        stored = artifact_file(texts[0], self.run)
        return b"".join([piece async for piece in self.storage.open(stored)]).decode()

    async def save_chunks(self, pieces: Sequence[tuple[int, int]], text: str) -> int:
        chunks = [
            Chunk(
                run_id=self.run.id,
                seq=seq,
                owner_id=self.run.owner_id,
                resource_id=self.run.resource_id,
                file_id=self.run.file_id,
                text=text[start:end],
                start=start,
                end=end,
            )
            for seq, (start, end) in enumerate(pieces)
        ]
        async with self.unit_of_work() as uow:
            await uow.pipeline_chunks.add_if_absent(chunks)
            await uow.commit()
        return len(chunks)

    async def chunks_to_embed(self, model: EmbeddingModel) -> tuple[list[Chunk], int]:
        async with self.unit_of_work() as uow:
            pending = await uow.pipeline_chunks.without_embedding(self.run.id, model)
            total = len(await uow.pipeline_chunks.list_for_run(self.run.id))
        return pending, total

    async def store_embeddings(
        self, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]], fraction: float
    ) -> None:
        async with self.unit_of_work() as uow:
            await uow.pipeline_chunks.set_embeddings(self.run.id, model, vectors)
            await uow.commit()
        await self.report_progress(self.run.id, StepName.EMBED, fraction)

    async def publish(self) -> tuple[str, int]:
        async with self.unit_of_work() as uow:
            count = await uow.pipeline_chunks.publish(self.run.id)
            index = await uow.chunk_vectors.name()
            await uow.commit()
        return index, count


async def _single(content: bytes) -> AsyncIterator[bytes]:
    yield content


def _describe(error: Exception) -> str:
    """What the run's owner is told of a failure: an error's code and reason, which are written
    for them; of anything else only its type (its message may show internals; the log has it)."""
    if isinstance(error, CodedError):
        reason = error.params.get("reason")
        return f"{error.code}: {reason}" if reason else error.code
    return f"internal error ({type(error).__name__})"
