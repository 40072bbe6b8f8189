from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.session import SessionUnitOfWork
from app.application.use_cases.session.list_sessions import ListSessions
from app.application.use_cases.session.log_out import LogOut
from app.application.use_cases.session.refresh_session import RefreshSession
from app.application.use_cases.session.revoke_session import RevokeSession
from app.presentation.api.v1.dependencies.common import (
    AfterResponseRelayDep,
    ContainerDep,
    read_unit_of_work,
    unit_of_work,
)

SessionUow = Annotated[SessionUnitOfWork, Depends(unit_of_work(SessionUnitOfWork))]
ReadSessionUow = Annotated[SessionUnitOfWork, Depends(read_unit_of_work(SessionUnitOfWork))]


async def get_refresh_session(uow: SessionUow, container: ContainerDep) -> RefreshSession:
    # The relay itself, not after the response: a reuse is answered with an error, and a
    # request that fails runs no after-response task.
    return RefreshSession(uow, container.session_tokens, container.clock, container.event_relay)


async def get_log_out(
    uow: SessionUow, container: ContainerDep, events: AfterResponseRelayDep
) -> LogOut:
    return LogOut(uow, container.token_deny_list, container.clock, events)


async def get_list_sessions(uow: ReadSessionUow, container: ContainerDep) -> ListSessions:
    return ListSessions(uow, container.clock)


async def get_revoke_session(
    uow: SessionUow, container: ContainerDep, events: AfterResponseRelayDep
) -> RevokeSession:
    return RevokeSession(uow, container.clock, events)


RefreshSessionDep = Annotated[RefreshSession, Depends(get_refresh_session)]
LogOutDep = Annotated[LogOut, Depends(get_log_out)]
ListSessionsDep = Annotated[ListSessions, Depends(get_list_sessions)]
RevokeSessionDep = Annotated[RevokeSession, Depends(get_revoke_session)]
