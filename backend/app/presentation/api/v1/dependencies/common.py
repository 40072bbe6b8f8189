"""Dependencies every router shares: the container, units of work, who is calling from where.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain `def` dependency
in a worker thread, and that hop costs more than the work of building a use case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Request

from app.application.request_context import RequestContext
from app.core.logging import request_id_var
from app.presentation.api.client_ip import client_ip
from app.presentation.container import Container


async def get_container(request: Request) -> Container:
    return cast(Container, request.app.state.container)


ContainerDep = Annotated[Container, Depends(get_container)]


UnitOfWorkFactory = Callable[[Container], Awaitable[Any]]


def unit_of_work(*needs: type) -> UnitOfWorkFactory:
    """A dependency: for use cases that write, one transaction (the use case commits) exposing
    the repositories the `needs` Protocols name. Alias it per feature:
    `ProductUow = Annotated[ProductUnitOfWork, Depends(unit_of_work(ProductUnitOfWork))]`."""

    async def writing(container: ContainerDep) -> Any:
        return container.unit_of_work(*needs)

    return writing


def read_unit_of_work(*needs: type) -> UnitOfWorkFactory:
    """A dependency: for use cases that only read, a connection the database itself keeps
    read-only."""

    async def reading(container: ContainerDep) -> Any:
        return container.read_unit_of_work(*needs)

    return reading


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
