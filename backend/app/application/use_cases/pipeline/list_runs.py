from __future__ import annotations

from app.application.interfaces.pipeline import PipelineUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.pipeline import PipelineRun
from app.domain.entities.user import User


class ListPipelineRuns:
    """The caller's own runs, oldest first, in keyset pages."""

    def __init__(self, uow: PipelineUnitOfWork) -> None:
        self._uow = uow

    async def execute(self, actor: User, *, limit: int, cursor: str | None) -> Page[PipelineRun]:
        ensure_page_size(limit)
        after = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.pipeline_runs.list_page(
                owner_id=actor.id, after=after, limit=limit + 1
            )
        return page_of(rows, limit)
