from __future__ import annotations

from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.session import SessionUnitOfWork
from app.application.request_context import RequestContext
from app.application.services.session import SessionTokens, TokenPair
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.domain.entities.session import InvalidRefreshTokenError, parse_refresh_token
from app.domain.events.session import SessionEnded


class RefreshSession:
    """Spend a refresh token for a new token pair of the same session.

    A spent token presented again revokes the session, so whichever of the owner or a thief comes
    second, both are logged out (reuse detection); the answer is the same invalid-token refusal as
    for any unknown token. Two requests racing with the same token: one wins, the other is reuse.
    A secret that was never this session's (or was spent beyond the remembered history) is only
    refused as invalid: the session id is public (it is in every access token), so it must not be
    enough to revoke.
    """

    def __init__(
        self,
        uow: SessionUnitOfWork,
        sessions: SessionTokens,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._sessions = sessions
        self._clock = clock
        self._events = events

    async def execute(self, refresh_token: str, context: RequestContext) -> TokenPair:
        session_id, secret = parse_refresh_token(refresh_token)
        now = self._clock.now()
        async with self._uow as uow:
            session = await uow.sessions.get(session_id)
            if session is None:
                raise InvalidRefreshTokenError()
            holds = session.holds(secret)
            if not holds and not session.spent(secret):
                raise InvalidRefreshTokenError()  # never valid here: nothing changes
            user = await uow.users.get_in_session(session.user_id, session.id, now)
            if user is None or not user.is_active or not session.is_active(now):
                await uow.sessions.delete(session.id)
                await uow.commit()
                raise InvalidRefreshTokenError()
            if holds:
                # No domain event: a rotation only replaces the refresh secret, bookkeeping no
                # other feature acts on, on the hottest write path (the session goes on).
                rotated, new_token = session.rotated(
                    now=now,
                    lifetime=self._sessions.refresh_token_lifetime,
                    user_agent=context.user_agent,
                    ip=context.ip,
                )
                if await uow.sessions.rotate(rotated, previous_hash=session.refresh_token_hash):
                    await uow.commit()
                    return self._sessions.pair_for(rotated, new_token)
            ended = await self._revoke_reused(uow, session.id, session.user_id, context)
        if self._events is not None:
            await self._events.relay([ended])
        raise InvalidRefreshTokenError()

    async def _revoke_reused(
        self, uow: SessionUnitOfWork, session_id: UUID, user_id: UUID, context: RequestContext
    ) -> SessionEnded:
        """Security-relevant, unlike a rotation: told as `SessionEnded` ("refresh_reused")."""
        now = self._clock.now()
        ended = SessionEnded(
            occurred_at=now, session_id=session_id, user_id=user_id, reason="refresh_reused"
        )
        await uow.sessions.delete(session_id)
        await uow.outbox.add([ended], now)
        await uow.audit_events.add(
            AuditEvent.record(
                action="auth.refresh_reuse",
                now=now,
                actor_id=user_id,
                target_type="session",
                target_id=session_id,
                outcome=AuditOutcome.DENIED,
                ip=context.ip,
                request_id=context.request_id,
            )
        )
        await uow.commit()
        return ended
