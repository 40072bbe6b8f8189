"""Media pipelines and AI search (API.md "Pipelines and AI search"): start a run over one of the
caller's files, follow it (status, server-sent events), read its result, retry it, and search
what the runs indexed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Query, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.application.idempotency import IdempotencyKeyReusedError
from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from app.application.use_cases.pipeline.follow_run import FollowPipelineRun
from app.application.use_cases.pipeline.search_chunks import (
    MAX_LIMIT,
    QUERY_MAX_LENGTH,
    SearchMode,
)
from app.domain.value_objects.text import NON_BLANK_LINE_PATTERN
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import IDEMPOTENCY_KEY_HEADER, IdempotencyKey
from app.presentation.api.v1.dependencies.pipeline import (
    FollowRunDep,
    GetResultDep,
    GetRunDep,
    ListRunsDep,
    RetryRunDep,
    SearchDep,
    StartRunDep,
)
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.pipeline import (
    PipelineResultOut,
    PipelineRunAccepted,
    PipelineRunCreate,
    PipelineRunOut,
    SearchHitOut,
    SearchResults,
)

PREFIX = f"{API_V1_PREFIX}/pipelines/runs"
router = FeatureRouter(tags=["pipeline"])
# A client reconnecting to the event stream sends the id of the last event it saw.
LastEventId = Annotated[
    str | None,
    Header(alias="Last-Event-ID", max_length=20, pattern=r"^[0-9]+$"),
]


@router.post(
    PREFIX,
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 404, 409, 422),
    summary="Start a run over one of the caller's files (Idempotency-Key)",
)
async def start_run(
    body: PipelineRunCreate,
    user: CurrentUser,
    start: StartRunDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PipelineRunAccepted:
    steps = [step.value for step in body.steps] if body.steps is not None else None
    try:
        run = await start.execute(
            user, body.resource_id, body.file_id, steps, idempotency_key=idempotency_key
        )
    except IdempotencyKeyReusedError as exc:
        raise IdempotencyKeyReusedError(field=IDEMPOTENCY_KEY_HEADER) from exc
    response.headers["Location"] = f"{PREFIX}/{run.id}"
    return PipelineRunAccepted(run_id=run.id, status=run.status)


@router.get(PREFIX, responses=problem_responses(400, 401, 422), summary="The caller's runs")
async def list_runs(
    user: CurrentUser,
    list_runs: ListRunsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> CursorPage[PipelineRunOut]:
    page = await list_runs.execute(user, limit=limit, cursor=cursor)
    return CursorPage(
        items=[PipelineRunOut.of(run) for run in page.items], next_cursor=page.next_cursor
    )


@router.get(
    f"{PREFIX}/{{run_id}}",
    responses=problem_responses(401, 404, 422),
    summary="A run's status, progress and steps",
)
async def get_run(run_id: UUID, user: CurrentUser, get_run: GetRunDep) -> PipelineRunOut:
    return PipelineRunOut.of(await get_run.execute(user, run_id))


@router.get(
    f"{PREFIX}/{{run_id}}/result",
    responses=problem_responses(401, 404, 409, 422),
    summary="The artifacts of a succeeded run (409 until it has succeeded)",
)
async def get_result(
    run_id: UUID, user: CurrentUser, get_result: GetResultDep, response: Response
) -> PipelineResultOut:
    response.headers["Cache-Control"] = "no-store"  # it carries the transcript
    return PipelineResultOut.of(await get_result.execute(user, run_id))


async def authorized_follower(
    run_id: UUID, user: CurrentUser, follow: FollowRunDep
) -> FollowPipelineRun:
    # Decided before the stream starts: a refusal is still an ordinary 404 problem.
    await follow.execute(user, run_id)
    return follow


@router.get(
    f"{PREFIX}/{{run_id}}/events",
    response_class=EventSourceResponse,
    responses=problem_responses(401, 404, 422),
    summary="Server-sent events: the run after each change, until it has finished",
)
async def follow_run(
    run_id: UUID,
    follow: Annotated[FollowPipelineRun, Depends(authorized_follower)],
    last_event_id: LastEventId = None,
) -> AsyncIterator[ServerSentEvent]:
    after = int(last_event_id) if last_event_id is not None else 0
    async for run in follow.changes(run_id, after):
        yield ServerSentEvent(
            id=str(run.version),
            event="run",
            raw_data=PipelineRunOut.of(run).model_dump_json(),
        )


@router.post(
    f"{PREFIX}/{{run_id}}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(401, 404, 409, 422),
    summary="Resume a failed run from its first unfinished step",
)
async def retry_run(run_id: UUID, user: CurrentUser, retry: RetryRunDep) -> PipelineRunOut:
    return PipelineRunOut.of(await retry.execute(user, run_id))


@router.get(
    f"{API_V1_PREFIX}/search",
    responses=problem_responses(401, 403, 422),
    summary="Search the caller's indexed chunks, best first",
)
async def search(
    user: CurrentUser,
    search: SearchDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=QUERY_MAX_LENGTH,
            description="Words to look for. Not blank; no control characters.",
            # The text rule, published; the use case enforces it.
            json_schema_extra={"pattern": NON_BLANK_LINE_PATTERN},
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    mode: SearchMode = SearchMode.HYBRID,
    resource_id: UUID | None = None,
) -> SearchResults:
    hits = await search.execute(user, q, limit=limit, mode=mode, resource_id=resource_id)
    return SearchResults(items=[SearchHitOut.of(hit) for hit in hits])
