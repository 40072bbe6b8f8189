"""Users (API.md "Identity"): registration, the caller's profile, administrators' user list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Header, Query, Request, Response, status

from app.application.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from app.application.use_cases.user.change_user_access import AccessChange
from app.application.use_cases.user.register_user import Registration
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CurrentUser
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.rate_limit import LimitRegisterIp
from app.presentation.api.v1.dependencies.user import (
    ChangeUserAccessDep,
    ListUsersDep,
    RegisterUserDep,
    UpdateProfileDep,
)
from app.presentation.api.v1.http_caching import etag_for, if_match_versions, matches_if_none_match
from app.presentation.api.v1.schemas.common import CursorPage
from app.presentation.api.v1.schemas.user import (
    ProfileUpdate,
    UserAccessUpdate,
    UserOut,
    UserRegister,
)

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/users", tags=["user"])
# Registration is mounted beside log in (API.md), but it creates a user.
registration_router = FeatureRouter(prefix=f"{API_V1_PREFIX}/auth", tags=["user"])


@registration_router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(409, 422, 429, 503),
    dependencies=[LimitRegisterIp],
    summary="Create an account (always with the `user` role)",
)
async def register(
    body: UserRegister,
    register: RegisterUserDep,
    request: Request,
    response: Response,
) -> UserOut:
    user = await register.execute(
        Registration(email=body.email, password=body.password, full_name=body.full_name)
    )
    response.headers["Location"] = str(request.url_for("read_me").path)
    return UserOut.of(user)


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
    "",
    responses=problem_responses(400, 401, 403, 422),
    summary="Every account, one page at a time (administrators)",
)
async def list_users(
    actor: CurrentUser,
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
    actor: CurrentUser,
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
