from __future__ import annotations

from app.application.interfaces.access import AccessPolicy
from app.application.interfaces.audit import AuditFilter, AuditUnitOfWork
from app.application.pagination import Page, decode_cursor, ensure_page_size, page_of
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import AdminRequiredError, User


class ListAuditEvents:
    """Administrators read the audit trail, newest first, a keyset page at a time."""

    def __init__(self, uow: AuditUnitOfWork, policy: AccessPolicy) -> None:
        self._uow = uow
        self._policy = policy

    async def execute(
        self, actor: User, audit_filter: AuditFilter, *, limit: int, cursor: str | None
    ) -> Page[AuditEvent]:
        if not await self._policy.allows(actor, "read", "audit"):
            raise AdminRequiredError()
        ensure_page_size(limit)
        before = decode_cursor(cursor)
        async with self._uow as uow:
            rows = await uow.audit_events.list_page(audit_filter, before=before, limit=limit + 1)
        return page_of(rows, limit)
