from __future__ import annotations

from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.session import SessionUnitOfWork
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.session import SessionNotFoundError
from app.domain.entities.user import User


class RevokeSession:
    """Revoke one of the caller's sessions; anyone else's is "not found", like a missing one."""

    def __init__(self, uow: SessionUnitOfWork, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def execute(self, user: User, session_id: UUID, context: RequestContext) -> None:
        async with self._uow as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user.id:
                raise SessionNotFoundError()
            await uow.sessions.delete(session_id)
            await uow.audit_events.add(
                AuditEvent.record(
                    action="session.revoke",
                    now=self._clock.now(),
                    actor_id=user.id,
                    target_type="session",
                    target_id=session_id,
                    ip=context.ip,
                    request_id=context.request_id,
                )
            )
            await uow.commit()
