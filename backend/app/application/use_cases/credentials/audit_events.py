from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent, AuditOutcome


def account_event(
    action: str,
    user_id: UUID,
    context: RequestContext,
    now: datetime,
    outcome: AuditOutcome = AuditOutcome.SUCCESS,
    details: dict[str, str] | None = None,
) -> AuditEvent:
    """The audit event of something done to a user's own credentials, by that user."""
    return AuditEvent.record(
        action=action,
        now=now,
        actor_id=user_id,
        target_type="user",
        target_id=user_id,
        outcome=outcome,
        ip=context.ip,
        request_id=context.request_id,
        details=details,
    )
