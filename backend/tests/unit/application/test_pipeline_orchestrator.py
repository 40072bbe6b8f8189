"""The pipeline's use cases with fakes: the orchestrator runs one step per job and queues the
next, never does a step's work twice, fails at once on unreadable input and retries the rest,
resumes a failed or half-done run, and keeps nothing of a run whose file was deleted; starting a
run, searching, embedding again after a change of model, and GDPR export and erasure."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

import pytest

from app.application.idempotency import IdempotencyKeyReusedError, IdempotencyKeys
from app.application.interfaces.pipeline import (
    EmbeddingModel,
    MediaUnreadableError,
    ModelServiceUnavailableError,
    PipelineStepRunner,
    StepOutput,
    StepWorkspace,
    UnsupportedPipelineMediaError,
)
from app.application.services.chunking import ChunkingPolicy
from app.application.services.jobs import JobFactory, JobKind, JobKinds
from app.application.services.pipeline_steps import ChunkStep, EmbedStep, IndexStep
from app.application.use_cases.pipeline.cancel_runs_of_deleted_files import (
    CancelRunsOfDeletedFiles,
)
from app.application.use_cases.pipeline.fail_abandoned_steps import FailAbandonedSteps
from app.application.use_cases.pipeline.personal_data import PipelinePersonalData
from app.application.use_cases.pipeline.reembed_runs import ReembedRuns
from app.application.use_cases.pipeline.retry_run import RetryPipelineRun
from app.application.use_cases.pipeline.run_step import STEP_JOB, RunPipelineStep
from app.application.use_cases.pipeline.search_chunks import SearchChunks, SearchMode
from app.application.use_cases.pipeline.start_run import StartPipelineRun
from app.domain.entities.job import Job, RetryPolicy
from app.domain.entities.pipeline import (
    Chunk,
    InvalidStepsError,
    PipelineArtifact,
    PipelineRun,
    PipelineRunNotFoundError,
    RunNotRetryableError,
    RunStatus,
    StepName,
    StepStatus,
)
from app.domain.entities.resource import FileNotFoundInResourceError, Resource, StoredFile
from app.domain.entities.user import Role, User
from app.domain.errors import InvalidValueError, PermissionDeniedError
from app.domain.events.job import JobFailed, JobQueued
from app.domain.events.resource import FileDeleted, ResourceDeleted, ResourceUpdated
from tests.builders import make_job, make_resource, make_stored_file, make_user
from tests.fakes import (
    FakeAccessPolicy,
    FakeClock,
    FakeEventPublisher,
    FakeFileStorage,
    FakeSecretBox,
    FakeUnitOfWork,
    StoredChunk,
)

ALICE = make_user(email="alice@example.com")
MALLORY = make_user(email="mallory@example.com")
ADMIN = make_user(email="admin@example.com", role=Role.ADMIN)
RETRY = RetryPolicy(
    max_attempts=4, backoff_base=timedelta(seconds=2), backoff_cap=timedelta(minutes=2)
)
X, C, E, I = StepName.EXTRACT, StepName.CHUNK, StepName.EMBED, StepName.INDEX  # noqa: E741
DOCUMENT = (
    "The apple fell near the river. A boat passed the garden. "
    "An engine hummed in the storm. The piano played in the garden. "
    "A pear and an apple sat on the piano. The river rose in the storm."
)


# ------------------------------------------------------------------------------- fake ports
class VocabularyEmbedder:
    """One dimension per word of a small vocabulary (the last one for every other word), so that
    texts sharing words point alike and a test can tell which chunk is nearest. Records what it
    embedded; fails as a model server that went away once it has embedded `fail_after` batches."""

    VOCABULARY = ("apple", "pear", "river", "boat", "engine", "piano", "storm", "garden")

    def __init__(
        self, *, name: str = "vocabulary-v1", batch_size: int = 2, fail_after: int | None = None
    ) -> None:
        self.model = EmbeddingModel(name, len(self.VOCABULARY) + 1)
        self.batch_size = batch_size
        self.max_tokens = 16
        self.fail_after = fail_after
        self.embedded: list[str] = []
        self.batches = 0

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        assert len(texts) <= self.batch_size, "callers send at most a batch"
        if self.fail_after is not None and self.batches >= self.fail_after:
            raise ModelServiceUnavailableError(retry_after_seconds=5)
        self.batches += 1
        self.embedded.extend(texts)
        return [self.vector(text) for text in texts]

    @classmethod
    def vector(cls, text: str) -> list[float]:
        counts = [0.0] * (len(cls.VOCABULARY) + 1)
        for word in text.lower().replace(".", " ").split():
            index = cls.VOCABULARY.index(word) if word in cls.VOCABULARY else -1
            counts[index] += 1.0
        norm = sum(c * c for c in counts) ** 0.5 or 1.0
        return [c / norm for c in counts]


class ScriptedStep:
    """A step runner that fails with `errors`, one per attempt, then makes `output`. Counts its
    runs, and calls `during` while it runs (a change another process makes meanwhile)."""

    def __init__(
        self,
        name: StepName,
        output: StepOutput | None = None,
        *errors: Exception,
        during: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.name = name
        self.output = output or StepOutput(kind=name.value, summary={"made_by": name.value})
        self.errors = list(errors)
        self.during = during
        self.runs = 0

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        self.runs += 1
        if self.during is not None:
            await self.during()
        if self.errors:
            raise self.errors.pop(0)
        return self.output


class DiesAfter:
    """Runs a real step, then fails as a worker killed before it recorded the step's end."""

    def __init__(self, step: PipelineStepRunner) -> None:
        self.name = step.name
        self._step = step

    async def run(self, run: PipelineRun, workspace: StepWorkspace) -> StepOutput:
        await self._step.run(run, workspace)
        raise ModelServiceUnavailableError(retry_after_seconds=1)


async def _no_handler(job: Job) -> None:
    raise AssertionError("jobs are run by the tests")


class Pipeline:
    """Alice's text file, the fakes around the orchestrator, and ways to start and drive runs.
    Every step is scripted unless a test puts another runner in `steps`."""

    def __init__(self) -> None:
        self.uow = FakeUnitOfWork()
        self.clock = FakeClock()
        self.storage = FakeFileStorage()
        self.relay = FakeEventPublisher(self.uow)
        self.policy = FakeAccessPolicy()
        self.jobs = JobFactory(
            JobKinds([JobKind(name=STEP_JOB, handler=_no_handler, retry=RETRY)]), self.clock
        )
        self.keys = IdempotencyKeys(FakeSecretBox())
        self.resource, self.file = self.add_file(ALICE, DOCUMENT.encode(), "text/plain")
        self.steps: dict[StepName, PipelineStepRunner] = {
            X: ScriptedStep(X, StepOutput(kind="text", summary={"characters": 9}, text=DOCUMENT)),
            C: ScriptedStep(C),
            E: ScriptedStep(E),
            I: ScriptedStep(I),
        }
        self.orchestrator = RunPipelineStep(
            lambda: self.uow, self.steps, self.storage, self.jobs, self.relay, self.clock
        )
        self.handled: set[UUID] = set()

    def add_file(
        self, owner: User, content: bytes, content_type: str
    ) -> tuple[Resource, StoredFile]:
        resource = make_resource(owner_id=owner.id)
        stored = make_stored_file(
            resource_id=resource.id,
            owner_id=owner.id,
            content_type=content_type,
            size=len(content),
        )
        self.uow.fake_resources.seed(resource)
        self.uow.fake_resource_files.seed(stored)
        self.storage.blobs[stored.storage_key] = content
        return resource, stored

    def scripted(self, name: StepName) -> ScriptedStep:
        step = self.steps[name]
        assert isinstance(step, ScriptedStep)
        return step

    # ------------------------------------------------------------------------------ actions
    async def start(
        self,
        steps: Sequence[str] | None = None,
        *,
        actor: User = ALICE,
        stored: StoredFile | None = None,
        key: str | None = None,
    ) -> PipelineRun:
        stored = stored or self.file
        return await StartPipelineRun(
            self.uow, self.policy, self.jobs, self.keys, self.relay, self.clock
        ).execute(actor, stored.resource_id, stored.id, steps, idempotency_key=key)

    async def handle(self, job: Job, *, attempt: int = 1) -> None:
        """A worker's `attempt` of `job` (the runner counts the attempt before the handler)."""
        self.handled.add(job.id)
        self.clock.advance(timedelta(seconds=1))
        await self.orchestrator(dataclasses.replace(job, attempts=attempt))

    async def drive(self) -> None:
        """Run every queued step job, and those they queue, until none is left."""
        while pending := self.pending_jobs():
            for job in pending:
                await self.handle(job)

    async def delete_file(self, stored: StoredFile | None = None) -> None:
        stored = stored or self.file
        async with self.uow as uow:
            await uow.resource_files.delete(stored.id)
            await uow.commit()
        await self.cancel_handler()(
            FileDeleted(
                occurred_at=self.clock.now(),
                file_id=stored.id,
                resource_id=stored.resource_id,
                owner_id=stored.owner_id,
            )
        )

    def cancel_handler(self) -> CancelRunsOfDeletedFiles:
        return CancelRunsOfDeletedFiles(lambda: self.uow, self.storage, self.clock)

    # ------------------------------------------------------------------------------ reading
    def step_jobs(self, run_id: UUID | None = None) -> list[Job]:
        """The committed step jobs (of one run), in the order they were queued."""
        return [
            job
            for job in self.uow.fake_jobs.committed.values()
            if job.kind == STEP_JOB and (run_id is None or job.payload["run_id"] == str(run_id))
        ]

    def pending_jobs(self) -> list[Job]:
        return [job for job in self.step_jobs() if job.id not in self.handled]

    def job_steps(self, run_id: UUID) -> list[str]:
        return [str(job.payload["step"]) for job in self.step_jobs(run_id)]

    def run(self, run_id: UUID) -> PipelineRun:
        run: PipelineRun = self.uow.fake_pipeline_runs.committed_run(run_id)
        return run

    def artifacts(self, run_id: UUID) -> list[PipelineArtifact]:
        committed = self.uow.fake_pipeline_artifacts.committed.values()
        return [artifact for artifact in committed if artifact.run_id == run_id]

    def chunks(self, run_id: UUID) -> list[StoredChunk]:
        committed = self.uow.fake_pipeline_chunks.committed
        return sorted(
            (stored for (run, _), stored in committed.items() if run == run_id),
            key=lambda stored: stored.chunk.seq,
        )


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline()


def use_real_steps(pipeline: Pipeline, embedder: VocabularyEmbedder) -> None:
    """The real chunk, embed and index steps, the chunks small enough to make several."""
    pipeline.steps[C] = ChunkStep(embedder, ChunkingPolicy(max_tokens=8, overlap_tokens=3))
    pipeline.steps[E] = EmbedStep(embedder)
    pipeline.steps[I] = IndexStep()


def only(jobs: list[Job]) -> Job:
    assert len(jobs) == 1, jobs
    return jobs[0]


# ===================================================================== the orchestrator
async def test_a_run_goes_step_by_step_to_success_each_step_queuing_the_next(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start()
    assert pipeline.job_steps(run.id) == ["extract"]

    for expected in ("chunk", "embed", "index"):
        await pipeline.handle(pipeline.pending_jobs()[-1])
        assert pipeline.job_steps(run.id)[-1] == expected
        assert len(pipeline.pending_jobs()) == 1, "one job queued for the next step, no more"
    await pipeline.handle(only(pipeline.pending_jobs()))

    done = pipeline.run(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.progress == 100
    assert done.finished_at == pipeline.clock.now()
    assert [step.status for step in done.steps] == [StepStatus.SUCCEEDED] * 4
    assert all(step.attempts == 1 and step.duration_ms == 0 for step in done.steps)
    assert pipeline.job_steps(run.id) == ["extract", "chunk", "embed", "index"]
    assert all(pipeline.scripted(name).runs == 1 for name in (X, C, E, I))
    queued = [event for event in pipeline.relay.published if isinstance(event, JobQueued)]
    assert [event.job_id for event in queued] == [job.id for job in pipeline.step_jobs(run.id)]
    assert not pipeline.relay.published_inside_transaction


async def test_each_step_leaves_one_artifact_and_the_first_steps_text_is_stored_apart(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start()
    await pipeline.drive()

    artifacts = {artifact.step: artifact for artifact in pipeline.artifacts(run.id)}
    assert artifacts.keys() == {X, C, E, I}
    text = artifacts[X]
    assert (text.kind, text.summary, text.owner_id) == ("text", {"characters": 9}, ALICE.id)
    assert text.storage_key is not None
    assert pipeline.storage.blobs[text.storage_key] == DOCUMENT.encode()
    assert text.size == len(DOCUMENT.encode())
    assert artifacts[C].storage_key is None
    assert artifacts[C].summary == {"made_by": "chunk"}


async def test_the_runs_changes_are_logged_version_by_version(pipeline: Pipeline) -> None:
    run = await pipeline.start()
    await pipeline.drive()

    async with pipeline.uow as uow:
        changes = await uow.pipeline_runs.changes_after(run.id, 0)
        later = await uow.pipeline_runs.changes_after(run.id, 5)

    final = pipeline.run(run.id)
    assert [change.version for change in changes] == list(range(1, final.version + 1))
    assert changes[0].status is RunStatus.QUEUED
    assert changes[-1] == final
    assert [change.version for change in later] == list(range(6, final.version + 1))
    assert [c.progress for c in changes] == sorted(c.progress for c in changes)


async def test_a_redelivered_job_of_a_step_already_done_does_nothing(pipeline: Pipeline) -> None:
    run = await pipeline.start()
    first = only(pipeline.pending_jobs())
    await pipeline.handle(first)
    version = pipeline.run(run.id).version

    await pipeline.handle(first)
    await pipeline.handle(first, attempt=2)

    assert pipeline.scripted(X).runs == 1
    assert len(pipeline.artifacts(run.id)) == 1
    assert pipeline.job_steps(run.id) == ["extract", "chunk"]
    assert pipeline.run(run.id).version == version


async def test_two_deliveries_running_one_step_at_once_keep_one_artifact_and_one_text(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())
    second_delivery: list[Job] = []

    async def another_worker_runs_it_meanwhile() -> None:
        if not second_delivery:
            second_delivery.append(job)
            await pipeline.handle(job, attempt=2)

    pipeline.steps[X] = ScriptedStep(
        X,
        StepOutput(kind="text", summary={}, text=DOCUMENT),
        during=another_worker_runs_it_meanwhile,
    )

    await pipeline.handle(job, attempt=1)

    [artifact] = pipeline.artifacts(run.id)
    assert artifact.storage_key is not None
    assert set(pipeline.storage.blobs) == {pipeline.file.storage_key, artifact.storage_key}
    assert pipeline.job_steps(run.id) == ["extract", "chunk"]
    assert pipeline.run(run.id).step(X).attempts == 2


async def test_a_job_of_a_later_step_than_the_one_due_does_nothing(pipeline: Pipeline) -> None:
    run = await pipeline.start()
    early = make_job(kind=STEP_JOB, payload={"run_id": str(run.id), "step": "embed"})

    await pipeline.handle(early)

    assert pipeline.scripted(E).runs == 0
    assert pipeline.run(run.id).status is RunStatus.QUEUED


async def test_a_job_of_a_run_that_no_longer_exists_does_nothing(pipeline: Pipeline) -> None:
    ghost = make_job(kind=STEP_JOB, payload={"run_id": str(ALICE.id), "step": "extract"})
    await pipeline.handle(ghost)
    assert pipeline.scripted(X).runs == 0


async def test_unreadable_media_fails_the_step_and_the_run_at_once(pipeline: Pipeline) -> None:
    pipeline.steps[X] = ScriptedStep(X, None, MediaUnreadableError())
    run = await pipeline.start()

    await pipeline.handle(only(pipeline.pending_jobs()))  # does not raise: no retry would help

    failed = pipeline.run(run.id)
    assert failed.status is RunStatus.FAILED
    step = failed.step(X)
    assert step.status is StepStatus.FAILED
    assert step.error == "pipeline.unreadable_media"  # its code: what the owner is told
    assert pipeline.artifacts(run.id) == []
    assert pipeline.job_steps(run.id) == ["extract"]


async def test_an_invalid_value_met_by_a_step_is_a_permanent_failure_too(
    pipeline: Pipeline,
) -> None:
    pipeline.steps[X] = ScriptedStep(X, None, InvalidValueError(field="text", reason="is empty"))
    run = await pipeline.start()

    await pipeline.handle(only(pipeline.pending_jobs()))

    failed = pipeline.run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.step(X).error == "validation_error: is empty"


async def test_a_transient_failure_raises_for_the_job_to_retry_and_shows_on_the_running_step(
    pipeline: Pipeline,
) -> None:
    pipeline.steps[X] = ScriptedStep(
        X,
        StepOutput(kind="text", summary={}, text=DOCUMENT),
        ModelServiceUnavailableError(retry_after_seconds=5),
    )
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())

    with pytest.raises(ModelServiceUnavailableError):
        await pipeline.handle(job, attempt=1)

    waiting = pipeline.run(run.id)
    assert waiting.status is RunStatus.RUNNING
    step = waiting.step(X)
    assert step.status is StepStatus.RUNNING
    assert step.error == "pipeline.model_unavailable"
    assert pipeline.artifacts(run.id) == []

    await pipeline.handle(job, attempt=2)

    step = pipeline.run(run.id).step(X)
    assert (step.status, step.attempts, step.error) == (StepStatus.SUCCEEDED, 2, None)
    assert len(pipeline.artifacts(run.id)) == 1
    assert pipeline.job_steps(run.id) == ["extract", "chunk"]


async def test_a_transient_failure_on_the_jobs_last_attempt_fails_the_run(
    pipeline: Pipeline,
) -> None:
    pipeline.steps[X] = ScriptedStep(X, None, RuntimeError("model server said 503"))
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())
    assert job.max_attempts == RETRY.max_attempts

    await pipeline.handle(job, attempt=RETRY.max_attempts)  # nothing left to retry: no raise

    failed = pipeline.run(run.id)
    assert failed.status is RunStatus.FAILED
    # Only the type of an error without a code: its message may show internals.
    assert failed.step(X).error == "internal error (RuntimeError)"


async def test_retry_resumes_a_failed_run_from_its_failed_step_keeping_the_finished_ones(
    pipeline: Pipeline,
) -> None:
    pipeline.steps[E] = ScriptedStep(E, None, MediaUnreadableError())
    run = await pipeline.start()
    await pipeline.drive()
    assert pipeline.run(run.id).status is RunStatus.FAILED
    kept = {a.step: a for a in pipeline.artifacts(run.id)}
    assert kept.keys() == {X, C}

    retried = await RetryPipelineRun(
        pipeline.uow, pipeline.policy, pipeline.jobs, pipeline.relay, pipeline.clock
    ).execute(ALICE, run.id)

    assert retried.status is RunStatus.QUEUED
    assert pipeline.job_steps(run.id) == ["extract", "chunk", "embed", "embed"]
    await pipeline.drive()

    done = pipeline.run(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.step(E).attempts == 2
    assert (pipeline.scripted(X).runs, pipeline.scripted(C).runs) == (1, 1)
    assert pipeline.scripted(E).runs == 2
    assert {a.step: a for a in pipeline.artifacts(run.id) if a.step in (X, C)} == kept


async def test_only_a_failed_run_is_retried_and_only_by_its_owner(pipeline: Pipeline) -> None:
    run = await pipeline.start()
    retry = RetryPipelineRun(
        pipeline.uow, pipeline.policy, pipeline.jobs, pipeline.relay, pipeline.clock
    )

    with pytest.raises(RunNotRetryableError):
        await retry.execute(ALICE, run.id)
    with pytest.raises(PipelineRunNotFoundError):
        await retry.execute(MALLORY, run.id)
    assert pipeline.job_steps(run.id) == ["extract"]


async def test_an_embed_step_killed_half_way_resumes_without_doubling_any_chunk(
    pipeline: Pipeline,
) -> None:
    dying = VocabularyEmbedder(batch_size=2, fail_after=2)
    use_real_steps(pipeline, dying)
    run = await pipeline.start()
    await pipeline.handle(only(pipeline.pending_jobs()))  # extract
    await pipeline.handle(only(pipeline.pending_jobs()))  # chunk
    chunks = [stored.chunk for stored in pipeline.chunks(run.id)]
    assert len(chunks) >= 6
    embed_job = only(pipeline.pending_jobs())

    with pytest.raises(ModelServiceUnavailableError):
        await pipeline.handle(embed_job, attempt=1)

    half = pipeline.chunks(run.id)
    assert [stored.model is not None for stored in half] == [True] * 4 + [False] * (len(chunks) - 4)
    halfway = pipeline.run(run.id)
    assert halfway.step(E).fraction == pytest.approx(4 / len(chunks))
    assert halfway.progress == int(100 * (2 + 4 / len(chunks)) / 4)

    healthy = VocabularyEmbedder(batch_size=2)
    use_real_steps(pipeline, healthy)
    await pipeline.handle(embed_job, attempt=2)

    assert healthy.embedded == [chunk.text for chunk in chunks[4:]]
    embedded = pipeline.chunks(run.id)
    assert [stored.chunk for stored in embedded] == chunks
    assert all(stored.model == healthy.model.name for stored in embedded)
    assert [s.embedding for s in embedded[:4]] == [s.embedding for s in half[:4]]
    await pipeline.drive()
    assert pipeline.run(run.id).status is RunStatus.SUCCEEDED
    assert all(stored.searchable for stored in pipeline.chunks(run.id))
    index = next(a for a in pipeline.artifacts(run.id) if a.step is I)
    assert index.summary == {"index": "exact", "chunks": len(chunks)}


async def test_a_chunk_step_run_twice_stores_each_chunk_once(pipeline: Pipeline) -> None:
    embedder = VocabularyEmbedder()
    use_real_steps(pipeline, embedder)
    pipeline.steps[C] = DiesAfter(
        ChunkStep(embedder, ChunkingPolicy(max_tokens=8, overlap_tokens=3))
    )
    run = await pipeline.start()
    await pipeline.handle(only(pipeline.pending_jobs()))
    chunk_job = only(pipeline.pending_jobs())
    with pytest.raises(ModelServiceUnavailableError):
        await pipeline.handle(chunk_job, attempt=1)
    first = pipeline.chunks(run.id)

    use_real_steps(pipeline, embedder)
    await pipeline.handle(chunk_job, attempt=2)

    assert pipeline.chunks(run.id) == first
    assert [stored.chunk.seq for stored in first] == list(range(len(first)))
    artifact = next(a for a in pipeline.artifacts(run.id) if a.step is C)
    assert artifact.summary == {"chunks": len(first), "max_tokens": 8, "overlap_tokens": 3}


async def test_the_real_steps_make_chunks_that_point_into_the_documents_text(
    pipeline: Pipeline,
) -> None:
    use_real_steps(pipeline, VocabularyEmbedder())
    run = await pipeline.start()
    await pipeline.drive()

    stored = pipeline.chunks(run.id)
    assert stored
    for item in stored:
        chunk = item.chunk
        assert DOCUMENT[chunk.start : chunk.end] == chunk.text
        assert (chunk.owner_id, chunk.resource_id, chunk.file_id) == (
            ALICE.id,
            pipeline.resource.id,
            pipeline.file.id,
        )
        assert len(chunk.text.split()) <= 8


async def test_deleting_the_file_before_a_step_begins_cancels_the_run(pipeline: Pipeline) -> None:
    use_real_steps(pipeline, VocabularyEmbedder())
    run = await pipeline.start()
    await pipeline.handle(only(pipeline.pending_jobs()))  # extract
    await pipeline.handle(only(pipeline.pending_jobs()))  # chunk
    text_key = next(a.storage_key for a in pipeline.artifacts(run.id) if a.step is X)
    async with pipeline.uow as uow:  # the file goes; its event has not been handled yet
        await uow.resource_files.delete(pipeline.file.id)
        await uow.commit()

    await pipeline.handle(only(pipeline.pending_jobs()))  # embed: finds no file

    canceled = pipeline.run(run.id)
    assert canceled.status is RunStatus.CANCELED
    assert canceled.step(E).status is StepStatus.SKIPPED
    assert [canceled.step(n).status for n in (X, C)] == [StepStatus.SUCCEEDED] * 2
    assert pipeline.artifacts(run.id) == []
    assert pipeline.chunks(run.id) == []
    assert text_key not in pipeline.storage.blobs
    assert pipeline.job_steps(run.id) == ["extract", "chunk", "embed"]


async def test_a_cancel_while_a_step_runs_makes_its_finish_keep_nothing(pipeline: Pipeline) -> None:
    pipeline.steps[X] = ScriptedStep(
        X, StepOutput(kind="text", summary={}, text=DOCUMENT), during=pipeline.delete_file
    )
    run = await pipeline.start()

    await pipeline.handle(only(pipeline.pending_jobs()))

    canceled = pipeline.run(run.id)
    assert canceled.status is RunStatus.CANCELED
    assert canceled.step(X).status is StepStatus.FAILED
    assert canceled.step(X).error == "canceled: the file was deleted"
    assert pipeline.artifacts(run.id) == []
    assert set(pipeline.storage.blobs) == {pipeline.file.storage_key}, "its text blob removed"
    assert pipeline.job_steps(run.id) == ["extract"]


async def test_a_cancel_during_a_failing_attempt_is_not_undone(pipeline: Pipeline) -> None:
    pipeline.steps[X] = ScriptedStep(X, None, RuntimeError("busy"), during=pipeline.delete_file)
    run = await pipeline.start()

    with pytest.raises(RuntimeError):
        await pipeline.handle(only(pipeline.pending_jobs()))

    assert pipeline.run(run.id).status is RunStatus.CANCELED
    assert pipeline.run(run.id).step(X).error == "canceled: the file was deleted"


# ===================================================== canceling runs of deleted files
async def test_deleting_a_file_cancels_its_unfinished_runs_and_discards_what_all_its_runs_made(
    pipeline: Pipeline,
) -> None:
    done = await pipeline.start()
    await pipeline.drive()
    running = await pipeline.start()
    await pipeline.handle(only(pipeline.pending_jobs()))
    _, other_file = pipeline.add_file(ALICE, b"other", "text/plain")
    elsewhere = await pipeline.start(stored=other_file)
    texts = {a.storage_key for a in pipeline.artifacts(done.id) + pipeline.artifacts(running.id)}

    await pipeline.delete_file()

    assert pipeline.run(running.id).status is RunStatus.CANCELED
    assert pipeline.run(done.id).status is RunStatus.SUCCEEDED  # what it was stays told
    assert pipeline.artifacts(done.id) == pipeline.artifacts(running.id) == []
    assert not texts & set(pipeline.storage.blobs)
    assert pipeline.run(elsewhere.id).status is RunStatus.QUEUED


async def test_deleting_a_resource_cancels_the_runs_of_all_its_files(pipeline: Pipeline) -> None:
    first = await pipeline.start()
    second_file = make_stored_file(
        resource_id=pipeline.resource.id, owner_id=ALICE.id, content_type="audio/flac"
    )
    pipeline.uow.fake_resource_files.seed(second_file)
    second = await pipeline.start(stored=second_file)
    _, unrelated_file = pipeline.add_file(ALICE, b"kept", "text/plain")
    unrelated = await pipeline.start(stored=unrelated_file)

    await pipeline.cancel_handler()(
        ResourceDeleted(
            occurred_at=pipeline.clock.now(), resource_id=pipeline.resource.id, owner_id=ALICE.id
        )
    )

    assert pipeline.run(first.id).status is RunStatus.CANCELED
    assert pipeline.run(second.id).status is RunStatus.CANCELED
    assert pipeline.run(unrelated.id).status is RunStatus.QUEUED


async def test_other_events_and_files_without_runs_change_nothing(pipeline: Pipeline) -> None:
    run = await pipeline.start()
    handler = pipeline.cancel_handler()
    commits = pipeline.uow.committed

    await handler(
        ResourceUpdated(
            occurred_at=pipeline.clock.now(),
            resource_id=pipeline.resource.id,
            owner_id=ALICE.id,
            changed_fields=("name",),
        )
    )
    await handler(
        FileDeleted(
            occurred_at=pipeline.clock.now(),
            file_id=ALICE.id,
            resource_id=pipeline.resource.id,
            owner_id=ALICE.id,
        )
    )

    assert pipeline.run(run.id).status is RunStatus.QUEUED
    assert pipeline.uow.committed == commits


# ============================================================ steps of dead jobs
async def test_a_step_whose_job_died_fails_its_run(pipeline: Pipeline) -> None:
    pipeline.steps[X] = ScriptedStep(X, None, RuntimeError("worker vanished"))
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())
    with pytest.raises(RuntimeError):
        await pipeline.handle(job)

    await FailAbandonedSteps(lambda: pipeline.uow, pipeline.clock)(
        JobFailed(
            occurred_at=pipeline.clock.now(),
            job_id=job.id,
            kind=STEP_JOB,
            attempts=4,
            error_type="JobLeaseLostError",
        )
    )

    failed = pipeline.run(run.id)
    assert failed.status is RunStatus.FAILED
    assert failed.step(X).error == "the job ran out of attempts (JobLeaseLostError)"


async def test_a_dead_job_of_another_kind_or_of_a_step_not_running_changes_nothing(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())
    handler = FailAbandonedSteps(lambda: pipeline.uow, pipeline.clock)
    version = pipeline.run(run.id).version

    for kind in ("pipeline.reembed", STEP_JOB):  # the step never started: pending, not running
        await handler(
            JobFailed(
                occurred_at=pipeline.clock.now(),
                job_id=job.id,
                kind=kind,
                attempts=4,
                error_type="X",
            )
        )
    await handler(
        JobFailed(
            occurred_at=pipeline.clock.now(),
            job_id=ALICE.id,
            kind=STEP_JOB,
            attempts=4,
            error_type="X",
        )
    )

    assert pipeline.run(run.id).version == version


# ======================================================================== starting a run
async def test_starting_a_run_stores_it_queued_with_a_job_for_its_first_step(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start(["extract", "chunk"])

    stored = pipeline.run(run.id)
    assert stored == run
    assert (stored.owner_id, stored.resource_id, stored.file_id) == (
        ALICE.id,
        pipeline.resource.id,
        pipeline.file.id,
    )
    assert stored.media_type == "text/plain"
    assert [s.status for s in stored.steps] == [StepStatus.PENDING] * 2 + [StepStatus.SKIPPED] * 2
    job = only(pipeline.step_jobs(run.id))
    assert (job.payload, job.owner_id) == ({"run_id": str(run.id), "step": "extract"}, ALICE.id)
    assert pipeline.relay.published == [
        JobQueued(occurred_at=pipeline.clock.now(), job_id=job.id, kind=STEP_JOB)
    ]
    assert pipeline.relay.commits_at_publish == [pipeline.uow.committed]


async def test_an_audio_file_is_transcribed_first(pipeline: Pipeline) -> None:
    _, audio = pipeline.add_file(ALICE, b"RIFF", "audio/ogg")
    run = await pipeline.start(stored=audio)
    assert run.steps[0].name is StepName.TRANSCRIBE
    assert pipeline.job_steps(run.id) == ["transcribe"]


async def test_an_administrator_starts_a_run_owned_by_the_files_owner(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start(actor=ADMIN)
    assert run.owner_id == ALICE.id


async def test_another_users_file_is_not_found_and_nothing_is_started(pipeline: Pipeline) -> None:
    with pytest.raises(FileNotFoundInResourceError):
        await pipeline.start(actor=MALLORY)
    assert pipeline.uow.fake_pipeline_runs.committed == []
    assert pipeline.step_jobs() == []


async def test_a_file_of_another_resource_is_not_found(pipeline: Pipeline) -> None:
    other, _ = pipeline.add_file(ALICE, b"x", "text/plain")
    with pytest.raises(FileNotFoundInResourceError):
        await StartPipelineRun(
            pipeline.uow,
            pipeline.policy,
            pipeline.jobs,
            pipeline.keys,
            pipeline.relay,
            pipeline.clock,
        ).execute(ALICE, other.id, pipeline.file.id, None, idempotency_key=None)


@pytest.mark.parametrize("content_type", ["image/png", "application/zip", "text/html", "video/mp4"])
async def test_a_file_no_pipeline_reads_is_refused(pipeline: Pipeline, content_type: str) -> None:
    _, unreadable = pipeline.add_file(ALICE, b"\x89PNG", content_type)
    with pytest.raises(UnsupportedPipelineMediaError):
        await pipeline.start(stored=unreadable, key="k-1")
    assert pipeline.uow.fake_pipeline_runs.committed == []
    assert pipeline.uow.fake_idempotency_keys.committed == {}, "refused before a key is claimed"


async def test_invalid_steps_are_refused_before_a_key_is_claimed(pipeline: Pipeline) -> None:
    with pytest.raises(InvalidStepsError):
        await pipeline.start(["chunk"], key="k-1")
    assert pipeline.uow.fake_idempotency_keys.committed == {}
    assert pipeline.step_jobs() == []


async def test_a_replayed_request_answers_the_run_the_first_one_started(
    pipeline: Pipeline,
) -> None:
    first = await pipeline.start(["extract"], key="k-1")
    again = await pipeline.start(["extract"], key="k-1")

    assert again == first
    assert len(pipeline.uow.fake_pipeline_runs.committed) == 1
    assert len(pipeline.step_jobs()) == 1


async def test_a_key_reused_for_another_request_is_refused(pipeline: Pipeline) -> None:
    await pipeline.start(["extract"], key="k-1")
    with pytest.raises(IdempotencyKeyReusedError):
        await pipeline.start(["extract", "chunk"], key="k-1")
    assert len(pipeline.uow.fake_pipeline_runs.committed) == 1


async def test_a_replayed_key_whose_run_was_erased_starts_it_again_under_the_same_id(
    pipeline: Pipeline,
) -> None:
    first = await pipeline.start(key="k-1")
    async with pipeline.uow as uow:
        await uow.pipeline_runs.delete_by_owner(ALICE.id)
        await uow.commit()

    again = await pipeline.start(key="k-1")

    assert again.id == first.id
    assert pipeline.run(again.id).status is RunStatus.QUEUED


# ============================================================================== search
class Indexed:
    """Chunks stored straight into the fake store, embedded and published, for search tests."""

    def __init__(self, pipeline: Pipeline, embedder: VocabularyEmbedder) -> None:
        self.pipeline = pipeline
        self.embedder = embedder

    async def add(
        self,
        owner: User,
        *texts: str,
        resource_id: UUID | None = None,
        published: bool = True,
        model: EmbeddingModel | None = None,
    ) -> list[Chunk]:
        run_id = make_job().id  # any fresh id
        resource_id = resource_id or make_resource().id
        chunks = [
            Chunk(
                run_id=run_id,
                seq=seq,
                owner_id=owner.id,
                resource_id=resource_id,
                file_id=run_id,
                text=text,
                start=0,
                end=len(text),
            )
            for seq, text in enumerate(texts)
        ]
        async with self.pipeline.uow as uow:
            await uow.pipeline_chunks.add_if_absent(chunks)
            await uow.pipeline_chunks.set_embeddings(
                run_id,
                model or self.embedder.model,
                [(c.seq, VocabularyEmbedder.vector(c.text)) for c in chunks],
            )
            if published:
                await uow.pipeline_chunks.publish(run_id)
            await uow.commit()
        return chunks

    def search(self) -> SearchChunks:
        return SearchChunks(self.pipeline.uow, self.pipeline.policy, self.embedder)


@pytest.fixture
def indexed(pipeline: Pipeline) -> Indexed:
    return Indexed(pipeline, VocabularyEmbedder())


def texts_of(hits: Sequence[Any]) -> list[str]:
    return [hit.chunk.text for hit in hits]


async def test_semantic_search_ranks_the_nearest_chunks_first(indexed: Indexed) -> None:
    await indexed.add(ALICE, "apple apple pear", "river boat", "apple river", "engine")

    hits = await indexed.search().execute(ALICE, "apple", limit=10, mode=SearchMode.SEMANTIC)

    assert texts_of(hits) == ["apple apple pear", "apple river", "river boat", "engine"]
    assert hits[0].score == pytest.approx(2 / 5**0.5)
    assert hits[2].score == pytest.approx(0.0)
    assert indexed.embedder.embedded == ["apple"]


async def test_keyword_search_finds_only_chunks_sharing_a_word_and_asks_no_model(
    indexed: Indexed,
) -> None:
    await indexed.add(ALICE, "the storm came", "a storm over the river", "piano music")

    hits = await indexed.search().execute(ALICE, "storm river", limit=10, mode=SearchMode.KEYWORD)

    assert texts_of(hits) == ["a storm over the river", "the storm came"]
    assert indexed.embedder.embedded == []


async def test_hybrid_search_fuses_both_rankings(indexed: Indexed) -> None:
    await indexed.add(ALICE, "garden garden", "pear garden tools", "pear")

    hits = await indexed.search().execute(ALICE, "pear garden", limit=2)

    # Semantic: "pear garden tools" nearest, then the others; keyword: it has both words.
    assert texts_of(hits)[0] == "pear garden tools"
    assert hits[0].score == pytest.approx(2 / 61)
    assert len(hits) == 2


async def test_search_reads_only_the_callers_published_chunks_of_the_current_model(
    indexed: Indexed,
) -> None:
    await indexed.add(ALICE, "apple of alice")
    await indexed.add(MALLORY, "apple of mallory")
    await indexed.add(ALICE, "apple not yet indexed", published=False)
    await indexed.add(ALICE, "apple of an old model", model=EmbeddingModel("old", 9))

    for mode in SearchMode:
        hits = await indexed.search().execute(ALICE, "apple", limit=10, mode=mode)
        expected = ["apple of alice"]
        if mode is not SearchMode.SEMANTIC:  # words still find an old model's chunks
            expected.append("apple of an old model")
        assert texts_of(hits) == expected, mode


async def test_search_may_be_narrowed_to_one_resource(indexed: Indexed) -> None:
    notes = make_resource(owner_id=ALICE.id)
    await indexed.add(ALICE, "boat in notes", resource_id=notes.id)
    await indexed.add(ALICE, "boat elsewhere")

    for mode in SearchMode:
        hits = await indexed.search().execute(
            ALICE, "boat", limit=10, mode=mode, resource_id=notes.id
        )
        assert texts_of(hits) == ["boat in notes"], mode


async def test_the_query_is_trimmed_before_it_is_embedded(indexed: Indexed) -> None:
    await indexed.add(ALICE, "piano")
    await indexed.search().execute(ALICE, "  piano \n", limit=5, mode=SearchMode.SEMANTIC)
    assert indexed.embedder.embedded == ["piano"]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "\n\t ",
        "x" * 501,
        " " + "x" * 501,
        "apple\x00pear",
        "a\tb",
        "esc\x1b[31m",
        "\ud800",
    ],
)
async def test_an_invalid_query_is_refused_naming_q_and_asks_no_model(
    indexed: Indexed, query: str
) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await indexed.search().execute(ALICE, query, limit=5)
    assert raised.value.field == "q"
    assert indexed.embedder.embedded == []


async def test_a_query_of_500_characters_is_accepted(indexed: Indexed) -> None:
    assert await indexed.search().execute(ALICE, "y" * 500 + "  ", limit=5) == []


@pytest.mark.parametrize("limit", [0, -1, 51, 1000])
async def test_a_limit_out_of_bounds_is_refused(indexed: Indexed, limit: int) -> None:
    with pytest.raises(InvalidValueError) as raised:
        await indexed.search().execute(ALICE, "apple", limit=limit)
    assert raised.value.field == "limit"


@pytest.mark.parametrize("limit", [1, 50])
async def test_the_limit_bounds_are_accepted_and_obeyed(indexed: Indexed, limit: int) -> None:
    await indexed.add(ALICE, *[f"apple number {i}" for i in range(60)])
    for mode in SearchMode:
        hits = await indexed.search().execute(ALICE, "apple", limit=limit, mode=mode)
        assert len(hits) == limit, mode


async def test_an_inactive_user_may_not_search(indexed: Indexed) -> None:
    inactive = ALICE.model_copy(update={"is_active": False})
    with pytest.raises(PermissionDeniedError):
        await indexed.search().execute(inactive, "apple", limit=5)


# ========================================================== embedding again after a model change
async def test_chunks_of_another_model_are_embedded_again_with_the_current_one(
    indexed: Indexed,
) -> None:
    old = EmbeddingModel("vocabulary-v0", 9)
    stale = await indexed.add(ALICE, "apple one", "pear two", "river three", model=old)
    current = await indexed.add(ALICE, "boat four")
    embedder = VocabularyEmbedder(batch_size=2)
    before = await indexed.search().execute(ALICE, "pear", limit=5, mode=SearchMode.SEMANTIC)
    assert texts_of(before) == ["boat four"], "an old model's vectors are never compared"

    await ReembedRuns(lambda: indexed.pipeline.uow, embedder)(make_job(kind="pipeline.reembed"))

    assert embedder.embedded == [chunk.text for chunk in stale]
    assert embedder.batches == 2
    committed = indexed.pipeline.uow.fake_pipeline_chunks.committed
    for chunk in stale + current:
        stored = committed[chunk.run_id, chunk.seq]
        assert (stored.model, stored.dimension) == (embedder.model.name, 9)
        assert stored.searchable
    hits = await indexed.search().execute(ALICE, "pear", limit=1, mode=SearchMode.SEMANTIC)
    assert texts_of(hits) == ["pear two"]


async def test_nothing_is_embedded_again_when_every_chunk_is_of_the_current_model(
    indexed: Indexed,
) -> None:
    await indexed.add(ALICE, "apple")
    embedder = VocabularyEmbedder()
    await ReembedRuns(lambda: indexed.pipeline.uow, embedder)(make_job(kind="pipeline.reembed"))
    assert embedder.embedded == []


# ============================================================================= personal data
async def test_the_export_holds_the_users_runs_and_artifacts_with_their_texts(
    pipeline: Pipeline,
) -> None:
    run = await pipeline.start()
    await pipeline.drive()
    _, mallorys_file = pipeline.add_file(MALLORY, b"secret", "text/plain")
    await pipeline.start(actor=MALLORY, stored=mallorys_file)

    async with pipeline.uow as uow:
        exported = await PipelinePersonalData(pipeline.storage).export(
            uow, ALICE, pipeline.clock.now()
        )

    assert exported["pipeline_runs"] == [pipeline.run(run.id)]
    contents = exported["pipeline_artifacts"]
    assert isinstance(contents, list)
    assert {content.artifact.step: content.text for content in contents} == {
        X: DOCUMENT,
        C: None,
        E: None,
        I: None,
    }


async def test_erasure_deletes_the_users_runs_chunks_and_artifacts_and_then_their_texts(
    pipeline: Pipeline,
) -> None:
    use_real_steps(pipeline, VocabularyEmbedder())
    alices = await pipeline.start()
    _, mallorys_file = pipeline.add_file(MALLORY, DOCUMENT.encode(), "text/plain")
    mallorys = await pipeline.start(actor=MALLORY, stored=mallorys_file)
    await pipeline.drive()
    alices_text = next(a.storage_key for a in pipeline.artifacts(alices.id) if a.step is X)
    mallorys_chunks = pipeline.chunks(mallorys.id)

    async with pipeline.uow as uow:
        after = await PipelinePersonalData(pipeline.storage).erase(uow, ALICE, pipeline.clock.now())
        await uow.commit()
    assert alices_text in pipeline.storage.blobs, "texts go only once the erasure is committed"
    assert after is not None
    await after()

    assert alices_text not in pipeline.storage.blobs
    assert [r.id for r in pipeline.uow.fake_pipeline_runs.committed] == [mallorys.id]
    assert pipeline.chunks(alices.id) == []
    assert pipeline.artifacts(alices.id) == []
    assert pipeline.chunks(mallorys.id) == mallorys_chunks
    assert len(pipeline.artifacts(mallorys.id)) == 4
    async with pipeline.uow as uow:
        assert await uow.pipeline_runs.changes_after(alices.id, 0) == []


async def test_a_step_that_cannot_record_its_end_raises_for_another_attempt_and_keeps_no_text(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process changes the run at every try: the job's attempt fails (its next attempt
    runs the step again) and the text it stored, never referenced, is removed."""
    run = await pipeline.start()
    job = only(pipeline.pending_jobs())
    runs = pipeline.uow.pipeline_runs
    update = runs.update

    async def stale_after_the_start(changed: PipelineRun, *, expected_version: int) -> bool:
        if changed.step(X).status is StepStatus.RUNNING and changed.version == 2:
            return await update(changed, expected_version=expected_version)  # the start
        return False

    monkeypatch.setattr(runs, "update", stale_after_the_start)
    blobs_before = set(pipeline.storage.blobs)

    with pytest.raises(RuntimeError, match="kept changing"):
        await pipeline.handle(job)

    assert set(pipeline.storage.blobs) == blobs_before
    assert pipeline.artifacts(run.id) == []
    assert pipeline.run(run.id).step(X).status is StepStatus.RUNNING
