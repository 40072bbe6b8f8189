from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.access import AccessPolicy
from app.application.use_cases.access.manage_policies import ChangePolicy, ListPolicyRules
from app.application.use_cases.audit.list_audit_events import ListAuditEvents
from app.presentation.api.v1.dependencies.common import (
    ContainerDep,
    ReadOnlyUnitOfWorkDep,
    UnitOfWorkDep,
)


async def get_access_policy(container: ContainerDep) -> AccessPolicy:
    return container.access_policy


AccessPolicyDep = Annotated[AccessPolicy, Depends(get_access_policy)]


async def get_list_policy_rules(
    policy: AccessPolicyDep, uow: ReadOnlyUnitOfWorkDep
) -> ListPolicyRules:
    return ListPolicyRules(policy, uow)


async def get_change_policy(
    policy: AccessPolicyDep, uow: UnitOfWorkDep, container: ContainerDep
) -> ChangePolicy:
    return ChangePolicy(policy, uow, container.clock)


async def get_list_audit_events(
    uow: ReadOnlyUnitOfWorkDep, policy: AccessPolicyDep
) -> ListAuditEvents:
    return ListAuditEvents(uow, policy)


ListPolicyRulesDep = Annotated[ListPolicyRules, Depends(get_list_policy_rules)]
ChangePolicyDep = Annotated[ChangePolicy, Depends(get_change_policy)]
ListAuditEventsDep = Annotated[ListAuditEvents, Depends(get_list_audit_events)]
