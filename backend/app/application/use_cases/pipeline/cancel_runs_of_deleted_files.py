"""When a file (or its whole resource) is deleted, its runs are canceled and whatever they made
goes with it: chunks (the database's cascade has taken those of the file already), artifacts and
their encrypted texts. A step running at that moment finds its run canceled when it finishes and
keeps nothing."""

from __future__ import annotations

from collections.abc import Callable

from app.application.interfaces.clock import Clock
from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.interfaces.resource import FileStorage
from app.application.use_cases.pipeline.artifacts import discard_runs_data
from app.domain.events import DomainEvent
from app.domain.events.resource import FileDeleted, ResourceDeleted

_CHANGE_ATTEMPTS = 5


class CancelRunsOfDeletedFiles:
    def __init__(
        self, unit_of_work: Callable[[], PipelineUnitOfWork], storage: FileStorage, clock: Clock
    ) -> None:
        self._unit_of_work = unit_of_work
        self._storage = storage
        self._clock = clock

    async def __call__(self, event: DomainEvent) -> None:
        for _ in range(_CHANGE_ATTEMPTS):
            async with self._unit_of_work() as uow:
                if isinstance(event, FileDeleted):
                    runs = await uow.pipeline_runs.list_for_file(event.file_id)
                elif isinstance(event, ResourceDeleted):
                    runs = await uow.pipeline_runs.list_for_resource(event.resource_id)
                else:
                    return
                if not runs:
                    return
                changed_concurrently = False
                for run in runs:
                    expected = run.version
                    if run.cancel(self._clock.now()) and not await uow.pipeline_runs.update(
                        run, expected_version=expected
                    ):
                        changed_concurrently = True
                        break
                if changed_concurrently:
                    continue  # rolled back: read the runs again
                storage_keys = await discard_runs_data(uow, [run.id for run in runs])
                await uow.commit()
            await self._storage.delete_all(storage_keys)
            return
        raise RuntimeError("the runs of the deleted file kept changing")
