"""Resources and their encrypted files (API.md "Resources")."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_CURSOR_LENGTH, MAX_PAGE_SIZE
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.resource import (
    CreateResourceDep,
    DeleteFileDep,
    DeleteResourceDep,
    DownloadFileDep,
    GetResourceDep,
    ListFilesDep,
    ListResourcesDep,
    UpdateResourceDep,
    UploadFileDep,
)
from app.presentation.api.v1.http_caching import etag_for, if_match_versions, matches_if_none_match
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.resource import (
    FileList,
    FileOut,
    ResourceCreate,
    ResourceOut,
    ResourceUpdate,
)
from app.presentation.api.v1.uploads import stream_file_part

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/resources", tags=["resource"])
UPLOAD_PATH = "/{resource_id}/files"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(401, 403, 422),
    summary="Create a resource owned by the caller",
)
async def create_resource(
    body: ResourceCreate,
    user: CurrentUser,
    create: CreateResourceDep,
    context: RequestContextDep,
    response: Response,
) -> ResourceOut:
    resource = await create.execute(
        user, name=body.name, description=body.description, context=context
    )
    response.headers["Location"] = f"{router.prefix}/{resource.id}"
    response.headers["ETag"] = etag_for(resource)
    return ResourceOut.of(resource)


@router.get(
    "",
    responses=problem_responses(400, 401, 422),
    summary="The caller's resources (administrators: everyone's, or one owner's)",
)
async def list_resources(
    user: CurrentUser,
    list_resources: ListResourcesDep,
    owner_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
) -> CursorPage[ResourceOut]:
    page = await list_resources.execute(user, owner_id=owner_id, limit=limit, cursor=cursor)
    return CursorPage(items=[ResourceOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get(
    "/{resource_id}",
    response_model=ResourceOut,
    responses={304: {"description": "Not modified"}, **problem_responses(401, 404, 422)},
    summary="Read a resource (ETag / If-None-Match)",
)
async def get_resource(
    resource_id: UUID,
    user: CurrentUser,
    get: GetResourceDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ResourceOut | Response:
    resource = await get.execute(user, resource_id)
    etag = etag_for(resource)
    if matches_if_none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return ResourceOut.of(resource)


@router.patch(
    "/{resource_id}",
    responses=problem_responses(401, 404, 412, 422),
    summary="Change a resource (If-Match)",
)
async def update_resource(
    resource_id: UUID,
    body: ResourceUpdate,
    user: CurrentUser,
    update: UpdateResourceDep,
    context: RequestContextDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ResourceOut:
    resource = await update.execute(
        user,
        resource_id,
        body.to_changes(),
        context,
        expected_versions=if_match_versions(if_match),
    )
    response.headers["ETag"] = etag_for(resource)
    return ResourceOut.of(resource)


@router.delete(
    "/{resource_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Delete a resource and its files",
)
async def delete_resource(
    resource_id: UUID, user: CurrentUser, delete: DeleteResourceDep, context: RequestContextDep
) -> None:
    await delete.execute(user, resource_id, context)


@router.post(
    UPLOAD_PATH,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(400, 401, 404, 413, 415, 422),
    summary="Upload a file (multipart field `file`), stored encrypted",
    description="The type is read from the content (audio: wav, mp3, ogg, flac; pdf; png; jpeg; "
    "plain text), never from the name. Over MAX_UPLOAD_BYTES → 413 as soon as the limit is passed.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_file(
    resource_id: UUID,
    request: Request,
    user: CurrentUser,
    upload: UploadFileDep,
    context: RequestContextDep,
    response: Response,
) -> FileOut:
    part = await stream_file_part(request)
    stored = await upload.execute(user, resource_id, part.filename, part.chunks, context)
    response.headers["Location"] = f"{router.prefix}/{resource_id}/files/{stored.id}"
    return FileOut.of(stored)


@router.get(
    UPLOAD_PATH,
    responses=problem_responses(401, 404, 422),
    summary="The files of a resource",
)
async def list_files(resource_id: UUID, user: CurrentUser, list_files: ListFilesDep) -> FileList:
    return FileList(items=[FileOut.of(f) for f in await list_files.execute(user, resource_id)])


@router.get(
    UPLOAD_PATH + "/{file_id}",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The original bytes", "content": {"application/octet-stream": {}}},
        **problem_responses(401, 404, 422, 500),
    },
    summary="Download a file's original bytes",
)
async def download_file(
    resource_id: UUID, file_id: UUID, user: CurrentUser, download: DownloadFileDep
) -> StreamingResponse:
    found = await download.execute(user, resource_id, file_id)
    # The first chunk is decrypted before the answer starts: a file that fails authentication
    # there is a clean problem, not a broken stream. A later chunk that fails aborts the stream.
    first = await anext(found.chunks, b"")
    stored = found.file
    return StreamingResponse(
        _prepend(first, found.chunks),
        media_type=stored.content_type,
        headers={
            "Content-Length": str(stored.size),
            # Sent as stored: the exact length is announced, and gzip leaves the stream alone.
            "Content-Encoding": "identity",
            "Content-Disposition": content_disposition(stored.filename),
            "ETag": f'"{stored.sha256}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.delete(
    UPLOAD_PATH + "/{file_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404, 422),
    summary="Delete a file (its ciphertext too)",
)
async def delete_file(
    resource_id: UUID,
    file_id: UUID,
    user: CurrentUser,
    delete: DeleteFileDep,
    context: RequestContextDep,
) -> None:
    await delete.execute(user, resource_id, file_id, context)


def content_disposition(filename: str) -> str:
    """`attachment` (never rendered inline), with an ASCII fallback name for old clients and the
    exact UTF-8 name (RFC 6266); the stored name is already free of quotes and control characters."""
    fallback = "".join(
        char if " " <= char <= "~" and char not in '"\\' else "_" for char in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
