from __future__ import annotations

from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.session import SessionUnitOfWork
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.session import SessionNotFoundError
from app.domain.entities.user import User
from app.domain.events.session import SessionEnded


class RevokeSession:
    """Revoke one of the caller's sessions; anyone else's is "not found", like a missing one.
    The revoked session records `SessionEnded` ("revoked"), handed out by `events` after the
    commit."""

    def __init__(
        self, uow: SessionUnitOfWork, clock: Clock, events: EventRelay | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._events = events

    async def execute(self, user: User, session_id: UUID, context: RequestContext) -> None:
        async with self._uow as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user.id:
                raise SessionNotFoundError()
            # Gone between our read and our delete (a twin request): that one told its end.
            if not await uow.sessions.delete(session_id):
                raise SessionNotFoundError()
            now = self._clock.now()
            ended = SessionEnded(
                occurred_at=now, session_id=session_id, user_id=user.id, reason="revoked"
            )
            await uow.outbox.add([ended], now)
            await uow.audit_events.add(
                AuditEvent.record(
                    action="session.revoke",
                    now=now,
                    actor_id=user.id,
                    target_type="session",
                    target_id=session_id,
                    ip=context.ip,
                    request_id=context.request_id,
                )
            )
            await uow.commit()
        if self._events is not None:
            await self._events.relay([ended])
