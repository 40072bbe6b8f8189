"""Dependencies every router shares: the container and the units of work.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain `def` dependency
in a worker thread, and that hop costs more than the work of building a use case.
"""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request

from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.core.logging import request_id_var
from app.infrastructure.repositories.unit_of_work import SqlAlchemyUnitOfWork
from app.presentation.api.client_ip import client_ip
from app.presentation.api.v1.dependencies.container import Container


async def get_container(request: Request) -> Container:
    return cast(Container, request.app.state.container)


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_unit_of_work(container: ContainerDep) -> UnitOfWork:
    return container.write_unit_of_work()


async def get_read_only_unit_of_work(container: ContainerDep) -> UnitOfWork:
    return SqlAlchemyUnitOfWork(container.database.read_engine)


# For use cases that write: one transaction, which the use case commits.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
# For use cases that only read: a read-only connection the database itself refuses writes on.
ReadOnlyUnitOfWorkDep = Annotated[UnitOfWork, Depends(get_read_only_unit_of_work)]


USER_AGENT_MAX_LENGTH = 255


async def get_request_context(request: Request, container: ContainerDep) -> RequestContext:
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        ip=client_ip(request, container.trusted_proxies),
        user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
        request_id=request_id_var.get(),
    )


# Who is calling from where, for the audit trail and the session list.
RequestContextDep = Annotated[RequestContext, Depends(get_request_context)]
