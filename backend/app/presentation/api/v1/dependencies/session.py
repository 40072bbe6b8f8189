from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from app.application.interfaces.session import SessionUnitOfWork
from app.application.use_cases.session.list_sessions import ListSessions
from app.application.use_cases.session.log_out import LogOut
from app.application.use_cases.session.refresh_session import RefreshSession
from app.application.use_cases.session.revoke_session import RevokeSession
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of


async def get_refresh_session(request: Request) -> RefreshSession:
    container = container_of(request)
    # The relay itself, not after the response: a reuse is answered with an error, and a
    # request that fails runs no after-response task.
    return RefreshSession(
        container.unit_of_work(SessionUnitOfWork),
        container.session_tokens,
        container.clock,
        container.event_relay,
    )


async def get_log_out(request: Request, background: BackgroundTasks) -> LogOut:
    container = container_of(request)
    return LogOut(
        container.unit_of_work(SessionUnitOfWork),
        container.token_deny_list,
        container.clock,
        after_response_relay(background, container),
    )


async def get_list_sessions(request: Request) -> ListSessions:
    container = container_of(request)
    return ListSessions(container.read_unit_of_work(SessionUnitOfWork), container.clock)


async def get_revoke_session(request: Request, background: BackgroundTasks) -> RevokeSession:
    container = container_of(request)
    return RevokeSession(
        container.unit_of_work(SessionUnitOfWork),
        container.clock,
        after_response_relay(background, container),
    )


RefreshSessionDep = Annotated[RefreshSession, Depends(get_refresh_session)]
LogOutDep = Annotated[LogOut, Depends(get_log_out)]
ListSessionsDep = Annotated[ListSessions, Depends(get_list_sessions)]
RevokeSessionDep = Annotated[RevokeSession, Depends(get_revoke_session)]
