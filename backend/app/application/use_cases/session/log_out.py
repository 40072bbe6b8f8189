from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import AccessTokenClaims
from app.application.interfaces.session import SessionUnitOfWork, TokenDenyList
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User
from app.domain.events.session import SessionEnded


class LogOut:
    """End the caller's session: its refresh token and the presented access token stop at once.

    The session row goes (so no token of it is honoured any more), and the access token's id is
    denied until the token would have expired anyway, for every API process. A session that
    was still there records `SessionEnded` ("logout"), handed out by `events` after the commit.
    """

    def __init__(
        self,
        uow: SessionUnitOfWork,
        deny_list: TokenDenyList,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._deny_list = deny_list
        self._clock = clock
        self._events = events

    async def execute(self, user: User, claims: AccessTokenClaims, context: RequestContext) -> None:
        # Denied first: if the deny-list is unreachable, nothing is half done and the client retries.
        await self._deny_list.deny(claims.token_id, until=claims.expires_at)
        ended: list[SessionEnded] = []
        async with self._uow as uow:
            now = self._clock.now()
            # Already gone (revoked by a twin request meanwhile): that one told its end.
            if await uow.sessions.delete(claims.session_id):
                ended.append(
                    SessionEnded(
                        occurred_at=now,
                        session_id=claims.session_id,
                        user_id=user.id,
                        reason="logout",
                    )
                )
                await uow.outbox.add(ended, now)
            await uow.audit_events.add(
                AuditEvent.record(
                    action="auth.logout",
                    now=now,
                    actor_id=user.id,
                    target_type="session",
                    target_id=claims.session_id,
                    ip=context.ip,
                    request_id=context.request_id,
                )
            )
            await uow.commit()
        if ended and self._events is not None:
            await self._events.relay(ended)
