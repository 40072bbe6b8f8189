"""Sessions and the tokens they hand out, shared by every use case that logs a user in or out.

- `start(uow, user, context)`: inside the caller's open unit of work, creates a session (evicting the
  user's oldest beyond the cap), records `auth.login`, and returns the access + refresh token pair.
- `revoke_all(uow, user_id, now=..., keep_session_id=None)`: revokes every session of a user (all
  but one, when given). Their access tokens stop working at the next request, because
  authentication checks that the token's session still exists.

Revoked sessions are deleted at once. Expired ones are deleted at their user's next login, and by
the periodic job `session.sweep_expired` (`use_cases/session/sweep_expired_sessions.py`): the user
agent and address of a session are kept no longer than the session (plus that period) lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.security import AccessTokenService
from app.application.interfaces.session import SessionUnitOfWork
from app.application.request_context import RequestContext
from app.domain.entities.audit import AuditEvent
from app.domain.entities.session import Session
from app.domain.entities.user import User


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    refresh_token_lifetime: timedelta
    max_sessions_per_user: int


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds of the access token
    session_id: UUID


class SessionTokens:
    def __init__(self, tokens: AccessTokenService, clock: Clock, policy: SessionPolicy) -> None:
        self._tokens = tokens
        self._clock = clock
        self._policy = policy

    async def start(self, uow: SessionUnitOfWork, user: User, context: RequestContext) -> TokenPair:
        now = self._clock.now()
        session, refresh_token = Session.start(
            user_id=user.id,
            now=now,
            lifetime=self._policy.refresh_token_lifetime,
            user_agent=context.user_agent,
            ip=context.ip,
        )
        await uow.sessions.add(session)
        await uow.sessions.prune(user.id, now, keep=self._policy.max_sessions_per_user)
        await uow.audit_events.add(
            AuditEvent.record(
                action="auth.login",
                now=now,
                actor_id=user.id,
                target_type="session",
                target_id=session.id,
                ip=context.ip,
                request_id=context.request_id,
            )
        )
        return self.pair_for(session, refresh_token)

    def pair_for(self, session: Session, refresh_token: str) -> TokenPair:
        access = self._tokens.issue(session.user_id, session.id)
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in=access.expires_in,
            session_id=session.id,
        )

    async def revoke_all(
        self,
        uow: SessionUnitOfWork,
        user_id: UUID,
        *,
        now: datetime,
        keep_session_id: UUID | None = None,
    ) -> int:
        del now  # revocation deletes the rows; the time is recorded by the caller's audit event
        return await uow.sessions.delete_all_for_user(user_id, keep=keep_session_id)

    @property
    def refresh_token_lifetime(self) -> timedelta:
        return self._policy.refresh_token_lifetime
