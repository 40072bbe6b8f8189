"""Sessions (API.md "Identity"): log in, refresh, log out, the caller's session list."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Form, status

from app.application.use_cases.session.log_in import MfaChallenge
from app.presentation.api.problem import problem_responses
from app.presentation.api.routing import FeatureRouter
from app.presentation.api.v1 import API_V1_PREFIX
from app.presentation.api.v1.dependencies.caller import CallerDep, LogInDep
from app.presentation.api.v1.dependencies.common import RequestContextDep
from app.presentation.api.v1.dependencies.rate_limit import (
    LimitLoginAccount,
    LimitLoginIp,
)
from app.presentation.api.v1.dependencies.session import (
    ListSessionsDep,
    LogOutDep,
    RefreshSessionDep,
    RevokeSessionDep,
)
from app.presentation.api.v1.schemas.common import TokenPairOut
from app.presentation.api.v1.schemas.session import (
    MfaRequiredOut,
    RefreshIn,
    SessionList,
    SessionOut,
)

router = FeatureRouter(prefix=f"{API_V1_PREFIX}/auth", tags=["session"])


@router.post(
    "/login",
    responses=problem_responses(401, 422, 429, 503),
    dependencies=[LimitLoginIp, LimitLoginAccount],
    summary="Exchange e-mail (as `username`) and password for a session's tokens",
    description="With MFA on, the answer is only an `mfa_token`: send it with a code to "
    "`/api/v1/auth/mfa/verify` for the tokens.",
)
async def login(
    username: Annotated[str, Form(max_length=320, description="the account's e-mail address")],
    password: Annotated[str, Form(max_length=1024)],
    log_in: LogInDep,
    context: RequestContextDep,
) -> TokenPairOut | MfaRequiredOut:
    # The OAuth2 password form (what /docs' Authorize button sends), read field by field: a
    # class dependency such as OAuth2PasswordRequestForm would run in a worker thread.
    result = await log_in.execute(username, password, context)
    if isinstance(result, MfaChallenge):
        return MfaRequiredOut(mfa_token=result.mfa_token)
    return TokenPairOut.of(result)


@router.post(
    "/refresh",
    responses=problem_responses(401, 422, 429, 503),
    summary="Spend a refresh token for a new token pair",
    description="Each refresh token works once. Presenting a spent one revokes its whole session.",
)
async def refresh(
    body: RefreshIn, refresh_session: RefreshSessionDep, context: RequestContextDep
) -> TokenPairOut:
    return TokenPairOut.of(await refresh_session.execute(body.refresh_token, context))


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 503),
    summary="End this session: its access and refresh tokens stop working at once",
)
async def logout(caller: CallerDep, log_out: LogOutDep, context: RequestContextDep) -> None:
    await log_out.execute(caller.user, caller.claims, context)


@router.get(
    "/sessions",
    responses=problem_responses(401),
    summary="The caller's active sessions",
)
async def list_sessions(caller: CallerDep, list_sessions: ListSessionsDep) -> SessionList:
    sessions = await list_sessions.execute(caller.user)
    return SessionList(
        items=[
            SessionOut.listed(session, current_session_id=caller.claims.session_id)
            for session in sessions
        ]
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Revoke one of the caller's sessions",
)
async def revoke_session(
    session_id: UUID,
    caller: CallerDep,
    revoke_session: RevokeSessionDep,
    context: RequestContextDep,
) -> None:
    await revoke_session.execute(caller.user, session_id, context)
