"""Dependencies every router shares: the container, units of work, who is calling from where.

Every dependency is `async def`, even when it awaits nothing: FastAPI runs a plain `def` dependency
in a worker thread, and that hop costs more than the work of building a use case.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, cast

from fastapi import BackgroundTasks, Depends, Header, Request

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.events import EventRelay
from app.application.request_context import RequestContext
from app.core.logging import request_id_var
from app.domain.events import DomainEvent
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


async def get_access_policy(container: ContainerDep) -> AccessPolicy:
    return container.access_policy


# The one authorization path: use cases ask it (routers never decide).
AccessPolicyDep = Annotated[AccessPolicy, Depends(get_access_policy)]


class AfterResponseRelay:
    """Relays a request's committed events once its response is sent: what handlers do (mail a
    link) delays nobody. They are in the outbox already, so a crash before then loses nothing."""

    def __init__(self, background: BackgroundTasks, relay: EventRelay) -> None:
        self._background = background
        self._relay = relay

    async def relay(self, events: Sequence[DomainEvent]) -> None:
        self._background.add_task(self._relay.relay, list(events))


async def get_after_response_relay(
    background: BackgroundTasks, container: ContainerDep
) -> EventRelay:
    return AfterResponseRelay(background, container.event_relay)


AfterResponseRelayDep = Annotated[EventRelay, Depends(get_after_response_relay)]


# A client's Idempotency-Key (API.md), for the operations that take one.
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY_HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",  # visible ASCII: a header value that logs and compares safely
        description="Same key and body within 24 h: the first response again, and nothing done "
        "twice. Same key, other body: 422. While the first request runs: 409.",
    ),
]
