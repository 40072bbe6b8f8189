from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response, status

from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.application.use_cases.user.change_user_access import AccessChange
from app.presentation.api.problem import problem_responses
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import AdminUser, CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.credentials import LimitPasswordCheck
from app.presentation.api.v1.dependencies.privacy import EraseMyAccountDep, ExportMyDataDep
from app.presentation.api.v1.dependencies.user import (
    ChangeUserAccessDep,
    ListUsersDep,
    UpdateProfileDep,
)
from app.presentation.api.v1.http_caching import etag_for, if_match_versions, matches_if_none_match
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.privacy import AccountErasure, PersonalDataExport
from app.presentation.api.v1.schemas.user import ProfileUpdate, UserAccessUpdate, UserOut

router = APIRouter(prefix=f"{API_V1_PREFIX}/users", tags=["identity"])


@router.get(
    "/me",
    response_model=UserOut,
    responses={304: {"description": "Not modified"}, **problem_responses(401)},
    summary="The caller's account (ETag / If-None-Match)",
)
async def read_me(
    user: CurrentUser,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> UserOut | Response:
    etag = etag_for(user)
    if matches_if_none_match(if_none_match, etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return UserOut.of(user)


@router.patch(
    "/me",
    responses=problem_responses(401, 409, 412, 422),
    summary="Change the caller's full name (If-Match)",
    description="An empty `full_name` clears it.",
)
async def update_me(
    body: ProfileUpdate,
    user: CurrentUser,
    update: UpdateProfileDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> UserOut:
    updated = await update.execute(
        user, full_name=body.full_name, expected_versions=if_match_versions(if_match)
    )
    response.headers["ETag"] = etag_for(updated)
    return UserOut.of(updated)


@router.get(
    "/me/export",
    responses=problem_responses(401),
    summary="Everything stored about the caller, as one JSON document (GDPR access)",
)
async def export_me(user: CurrentUser, export: ExportMyDataDep) -> PersonalDataExport:
    return PersonalDataExport.of(await export.execute(user))


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 403, 422, 429, 503),
    dependencies=[LimitPasswordCheck],
    summary="Erase the caller's account and personal data (GDPR erasure)",
    description="Needs the password (and a TOTP or recovery code when MFA is on), checked "
    "against the account's login limit. Sessions, resources and files are deleted; audit rows "
    "stay, with the caller anonymised.",
)
async def erase_me(
    body: AccountErasure, user: CurrentUser, erase: EraseMyAccountDep, context: RequestContextDep
) -> None:
    await erase.execute(user, body.password, body.code, context)


@router.get(
    "",
    responses=problem_responses(400, 401, 403, 422),
    summary="Every account, one page at a time (administrators)",
)
async def list_users(
    actor: AdminUser,
    list_users: ListUsersDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> CursorPage[UserOut]:
    page = await list_users.execute(actor, limit=limit, cursor=cursor)
    return CursorPage(items=[UserOut.of(user) for user in page.items], next_cursor=page.next_cursor)


@router.patch(
    "/{user_id}",
    responses=problem_responses(401, 403, 404, 409, 412, 422),
    summary="Change a user's role or deactivate the account (administrators; If-Match)",
    description="Either change revokes every session of that user. Administrators cannot "
    "demote or deactivate themselves.",
)
async def update_user_access(
    user_id: UUID,
    body: UserAccessUpdate,
    actor: AdminUser,
    change_access: ChangeUserAccessDep,
    context: RequestContextDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> UserOut:
    change = AccessChange(role=body.role, is_active=body.is_active)
    user = await change_access.execute(
        actor, user_id, change, context, expected_versions=if_match_versions(if_match)
    )
    response.headers["ETag"] = etag_for(user)
    return UserOut.of(user)
