"""Start a pipeline run over one of the caller's files: 202 at once, the steps run as jobs.

The file must be the caller's (else, as for resources, it does not exist) and of a type some
pipeline reads. Under an `Idempotency-Key`, a retried request answers with the run the first one
started instead of starting a second.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from app.application.idempotency import Claim, IdempotencyKeys, Replay, fingerprint
from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.pipeline import (
    PIPELINE,
    PipelineUnitOfWork,
    UnsupportedPipelineMediaError,
)
from app.application.services.jobs import JobFactory
from app.application.use_cases.pipeline.run_step import step_job
from app.domain.entities.pipeline import MediaKind, PipelineRun, planned_steps
from app.domain.entities.resource import FileNotFoundInResourceError, StoredFile
from app.domain.entities.user import User
from app.domain.errors import CodedError

AUDIO_TYPES_PREFIX = "audio/"
DOCUMENT_TYPES = frozenset({"application/pdf", "text/plain", "text/markdown"})


def media_kind(content_type: str) -> MediaKind:
    if content_type.startswith(AUDIO_TYPES_PREFIX):
        return MediaKind.AUDIO
    if content_type in DOCUMENT_TYPES:
        return MediaKind.DOCUMENT
    raise UnsupportedPipelineMediaError(media_type=content_type)


class StartPipelineRun:
    def __init__(
        self,
        uow: PipelineUnitOfWork,
        policy: AccessPolicy,
        jobs: JobFactory,
        idempotency_keys: IdempotencyKeys,
        relay: EventRelay,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._jobs = jobs
        self._keys = idempotency_keys
        self._relay = relay
        self._clock = clock

    async def execute(
        self,
        actor: User,
        resource_id: UUID,
        file_id: UUID,
        steps: Sequence[str] | None,
        *,
        idempotency_key: str | None,
    ) -> PipelineRun:
        stored_file = await self._authorized_file(actor, resource_id, file_id)
        kind = media_kind(stored_file.content_type)
        planned_steps(kind, steps)  # refused before any key is claimed
        if idempotency_key is None:
            return await self._start(stored_file, kind, steps, None)
        request = {"resource_id": resource_id, "file_id": file_id, "steps": steps}
        outcome = await self._keys.claim(
            self._uow, actor.id, idempotency_key, fingerprint(request), self._clock.now()
        )
        if isinstance(outcome, Replay):
            async with self._uow as uow:
                run = await uow.pipeline_runs.get(UUID(outcome.result))
            if run is not None:
                return run
            # Its run is gone (its owner erased it): the key starts a run afresh below.
            outcome = Claim(actor.id, idempotency_key, UUID(outcome.result))
        try:
            return await self._start(stored_file, kind, steps, outcome)
        except CodedError:
            await self._keys.release(self._uow, outcome, self._clock.now())
            raise

    async def _authorized_file(self, actor: User, resource_id: UUID, file_id: UUID) -> StoredFile:
        async with self._uow as uow:
            stored_file = await uow.resource_files.get(resource_id, file_id)
        if stored_file is None or not await self._policy.allows(
            actor, "create", PIPELINE, owner_id=stored_file.owner_id
        ):
            raise FileNotFoundInResourceError()
        return stored_file

    async def _start(
        self,
        stored_file: StoredFile,
        kind: MediaKind,
        steps: Sequence[str] | None,
        claim: Claim | None,
    ) -> PipelineRun:
        now = self._clock.now()
        run = PipelineRun.create(
            owner_id=stored_file.owner_id,
            resource_id=stored_file.resource_id,
            file_id=stored_file.id,
            media_type=stored_file.content_type,
            kind=kind,
            requested_steps=steps,
            now=now,
            run_id=claim.reserved_id if claim is not None else None,
        )
        first = run.steps[0]  # a run's steps are its plan from the first one
        async with self._uow as uow:
            if await uow.resource_files.get(stored_file.resource_id, stored_file.id) is None:
                raise FileNotFoundInResourceError()  # deleted since it was checked
            await uow.pipeline_runs.add(run)
            job_kind, payload = step_job(run.id, first.name)
            _, queued = await self._jobs.enqueue(uow, job_kind, payload, owner_id=run.owner_id)
            if claim is not None:
                await self._keys.complete(uow, claim, str(run.id))
            await uow.commit()
        await self._relay.relay([queued])
        return run
