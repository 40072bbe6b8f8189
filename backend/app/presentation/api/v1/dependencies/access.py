from __future__ import annotations

from typing import Annotated

from fastapi import BackgroundTasks, Depends, Request

from app.application.interfaces.access import AccessUnitOfWork
from app.application.use_cases.access.change_policy import ChangePolicy
from app.application.use_cases.access.list_policy_rules import ListPolicyRules
from app.domain.events import DomainEvent
from app.domain.events.access import AccessPolicyChanged
from app.presentation.api.v1.dependencies.common import after_response_relay, container_of
from app.presentation.container import Container


async def get_list_policy_rules(request: Request) -> ListPolicyRules:
    container = container_of(request)
    return ListPolicyRules(container.access_policy, container.read_unit_of_work(AccessUnitOfWork))


async def get_change_policy(request: Request, background: BackgroundTasks) -> ChangePolicy:
    container = container_of(request)
    return ChangePolicy(
        container.access_policy,
        container.unit_of_work(AccessUnitOfWork),
        container.clock,
        object_types=container.features.object_types,
        events=after_response_relay(background, container),
    )


ListPolicyRulesDep = Annotated[ListPolicyRules, Depends(get_list_policy_rules)]
ChangePolicyDep = Annotated[ChangePolicy, Depends(get_change_policy)]


def reload_policy_on_change(container: Container) -> None:
    """Distributed: a policy change made through another process is obeyed here as soon as its
    event arrives. The version check of `CasbinAccessPolicy` stays as the fallback (Redis down)."""

    async def reload(_event: DomainEvent) -> None:
        await container.access_policy.refresh()

    container.broadcast_handlers.subscribe(AccessPolicyChanged, reload, name="access.policy")
