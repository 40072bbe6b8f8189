from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User


def audit(
    action: str,
    actor: User,
    target_type: str,
    target_id: UUID,
    context: RequestContext,
    now: datetime,
) -> AuditEvent:
    """The audit event of `actor` acting on a resource or on one of its files."""
    return AuditEvent.record(
        action=action,
        now=now,
        actor_id=actor.id,
        target_type=target_type,
        target_id=target_id,
        ip=context.ip,
        request_id=context.request_id,
    )
