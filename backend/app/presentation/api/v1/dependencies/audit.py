"""Composition of the audit feature's use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.use_cases.audit.list_audit_events import ListAuditEvents
from app.presentation.api.v1.dependencies.common import AccessPolicyDep, read_unit_of_work

ReadAuditUow = Annotated[AuditUnitOfWork, Depends(read_unit_of_work(AuditUnitOfWork))]


async def get_list_audit_events(uow: ReadAuditUow, policy: AccessPolicyDep) -> ListAuditEvents:
    return ListAuditEvents(uow, policy)


ListAuditEventsDep = Annotated[ListAuditEvents, Depends(get_list_audit_events)]
