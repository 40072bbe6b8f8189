"""A run's changes as they happen, for its server-sent event stream.

Each change of a run is stored with it, numbered by the run's version, so the stream is read from
the database: it works whichever process runs the steps, and a client reconnecting with the last
number it saw (`Last-Event-ID`) is sent every change after it, none twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.use_cases.pipeline.authorization import authorized_run
from app.domain.entities.pipeline import PipelineRun
from app.domain.entities.user import User


class FollowPipelineRun:
    def __init__(
        self, uow: PipelineUnitOfWork, policy: AccessPolicy, *, poll_interval_seconds: float
    ) -> None:
        self._uow = uow
        self._policy = policy
        self._poll_interval = poll_interval_seconds

    async def execute(self, actor: User, run_id: UUID) -> None:
        """Check that the caller may follow the run (before the stream's headers are sent)."""
        await authorized_run(self._uow, self._policy, actor, run_id, "read")

    async def changes(self, run_id: UUID, after_version: int) -> AsyncIterator[PipelineRun]:
        """Every change after `after_version`, oldest first, until the run has finished (or is
        gone); waits `poll_interval_seconds` between looks."""
        last = after_version
        while True:
            async with self._uow as uow:
                changes = await uow.pipeline_runs.changes_after(run_id, last)
                current = await uow.pipeline_runs.get(run_id) if not changes else None
            for run in changes:
                last = run.version
                yield run
            if changes and changes[-1].status.is_finished:
                return
            if not changes and (current is None or current.status.is_finished):
                return
            await asyncio.sleep(self._poll_interval)
