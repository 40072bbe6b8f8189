from __future__ import annotations

from uuid import UUID

from app.application.interfaces.attempts import CredentialAttempts
from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import MfaTokenService
from app.application.interfaces.session import TokenDenyList
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionTokens, TokenPair
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.audit import AuditOutcome
from app.domain.entities.credentials import (
    InvalidMfaCodeError,
)
from app.domain.entities.session import InvalidTokenError
from app.domain.events.session import SessionStarted


class CompleteMfaLogin:
    """The second step of a login: the `mfa_token` from the first, and a TOTP or recovery code.

    A success spends the `mfa_token` (it is denied until it expires): one password check opens
    one session. Failures leave it usable, within the account's budgets: each code tried counts
    per user (never per token, whose spelling and number the client controls) and against the
    account's shared password/code budget.

    The new session records `SessionStarted`, as a login without MFA does, handed out by
    `events` after the commit.
    """

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        mfa_tokens: MfaTokenService,
        spent_tokens: TokenDenyList,
        second_factor: SecondFactor,
        sessions: SessionTokens,
        clock: Clock,
        attempts: CredentialAttempts,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._mfa_tokens = mfa_tokens
        self._spent_tokens = spent_tokens
        self._second_factor = second_factor
        self._sessions = sessions
        self._clock = clock
        self._attempts = attempts
        self._events = events

    async def execute(self, mfa_token: str, code: str, context: RequestContext) -> TokenPair:
        claims = self._mfa_tokens.verify_mfa(mfa_token)
        if await self._spent_tokens.is_denied(claims.token_id):
            raise InvalidTokenError()
        await self._attempts.mfa_login_code(claims.subject)
        async with self._uow as uow:
            user = await uow.users.get(claims.subject)
            if user is None or not user.is_active or not user.mfa_enabled:
                raise InvalidMfaCodeError()
            await self._attempts.password_or_code(user.email)
            confirmed = await self._second_factor.consume(uow, user, code)
            started: SessionStarted | None = None
            if confirmed is not None:
                pair = await self._sessions.start(uow, confirmed, context)
                now = self._clock.now()
                started = SessionStarted(
                    occurred_at=now, session_id=pair.session_id, user_id=confirmed.id
                )
                await uow.outbox.add([started], now)
                # Spent before the commit: if the deny-list cannot be reached, no session exists.
                await self._spent_tokens.deny(claims.token_id, until=claims.expires_at)
                await uow.commit()
        if started is None:
            await self._record_failed_code(user.id, context)
            raise InvalidMfaCodeError()
        if self._events is not None:
            await self._events.relay([started])
        return pair

    async def _record_failed_code(self, user_id: UUID, context: RequestContext) -> None:
        """The failed second step, in a transaction of its own (the login's was rolled back)."""
        async with self._uow as uow:
            # A login that failed at its second step (the success is `auth.login` too).
            await uow.audit_events.add(
                account_event(
                    "auth.login",
                    user_id,
                    context,
                    self._clock.now(),
                    AuditOutcome.FAILURE,
                    details={"step": "mfa"},
                )
            )
            await uow.commit()
