"""Dependencies every router shares: the container, who is calling from where, the relay of
events after the response.

How a feature's provider reads (`dependencies/<feature>.py`):

    async def get_get_product(request: Request) -> GetProduct:
        container = container_of(request)
        return GetProduct(container.read_unit_of_work(ProductUnitOfWork), container.get(CACHE))

One dependency per use case, building what it needs from the container itself, rather than a tree
of small dependencies (the container, a unit of work, the policy): FastAPI resolves every node of a
route's tree on every request, a cached one too, and each node cost about 20 µs in the profiles of
`make profile` — more than building the use case. Special parameters (`Request`,
`BackgroundTasks`, `Response`) are no nodes. Every dependency is `async def`, even when it awaits
nothing: FastAPI runs a plain `def` dependency in a worker thread, and that hop costs more still.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, cast

from fastapi import BackgroundTasks, Depends, Header, Request

from app.application.interfaces.events import EventRelay
from app.application.request_context import RequestContext
from app.core.logging import request_id_var
from app.domain.events import DomainEvent
from app.presentation.api.client_ip import client_ip
from app.presentation.container import Container


def container_of(request: Request) -> Container:
    """The app's container (built in its lifespan)."""
    return cast(Container, request.app.state.container)


async def get_container(request: Request) -> Container:
    return container_of(request)


# For routes that need the container itself (health, metrics); providers call `container_of`.
ContainerDep = Annotated[Container, Depends(get_container)]


USER_AGENT_MAX_LENGTH = 255


async def get_request_context(request: Request) -> RequestContext:
    container = container_of(request)
    user_agent = request.headers.get("user-agent")
    return RequestContext(
        ip=client_ip(request, container.trusted_proxies),
        user_agent=user_agent[:USER_AGENT_MAX_LENGTH] if user_agent else None,
        request_id=request_id_var.get(),
    )


# Who is calling from where, for the audit trail and the session list.
RequestContextDep = Annotated[RequestContext, Depends(get_request_context)]


class AfterResponseRelay:
    """Relays a request's committed events once its response is sent: what handlers do (mail a
    link) delays nobody. They are in the outbox already, so a crash before then loses nothing."""

    def __init__(self, background: BackgroundTasks, relay: EventRelay) -> None:
        self._background = background
        self._relay = relay

    async def relay(self, events: Sequence[DomainEvent]) -> None:
        self._background.add_task(self._relay.relay, list(events))


def after_response_relay(background: BackgroundTasks, container: Container) -> EventRelay:
    """For a use case whose events may wait for the response: the route's `BackgroundTasks`
    relays them once it is sent."""
    return AfterResponseRelay(background, container.event_relay)


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
