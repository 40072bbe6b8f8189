"""Composition of the audit feature's use cases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.application.interfaces.audit import AuditUnitOfWork
from app.application.use_cases.audit.list_audit_events import ListAuditEvents
from app.presentation.api.v1.dependencies.common import container_of


async def get_list_audit_events(request: Request) -> ListAuditEvents:
    container = container_of(request)
    return ListAuditEvents(container.read_unit_of_work(AuditUnitOfWork), container.access_policy)


ListAuditEventsDep = Annotated[ListAuditEvents, Depends(get_list_audit_events)]
