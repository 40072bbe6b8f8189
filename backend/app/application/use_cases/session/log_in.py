from __future__ import annotations

from dataclasses import dataclass

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.security import MfaTokenService, PasswordHasher
from app.application.interfaces.session import SessionUnitOfWork
from app.application.request_context import RequestContext
from app.application.services.session import SessionTokens, TokenPair
from app.domain.entities.audit import AuditEvent, AuditOutcome
from app.domain.entities.session import InvalidCredentialsError
from app.domain.entities.user import User
from app.domain.errors import InvalidValueError
from app.domain.events.session import SessionStarted
from app.domain.value_objects.email import normalize_email
from app.domain.value_objects.password import normalize_password


@dataclass(frozen=True, slots=True)
class MfaChallenge:
    """The password was right; the second factor is still owed (`/auth/mfa/verify`)."""

    mfa_token: str


class LogIn:
    """Exchange an e-mail and password for a new session's tokens, or an MFA challenge.

    Every failure (unknown e-mail, wrong password, inactive account) is the same error and takes
    the same time, so the answer reveals nothing about which accounts exist. Each attempt is in the
    audit trail, never with the password or the e-mail that was typed.

    Passwords are hashed and checked in their NFKC form. A hash made before that, of a password
    that NFKC changes, opened with the password as typed, is replaced by the hash of the
    normalized form on that successful login (before any second factor), so from then on the
    password works however the device composes it.

    A new session records `SessionStarted`, handed out by `events` after the commit.
    """

    def __init__(
        self,
        uow: SessionUnitOfWork,
        hasher: PasswordHasher,
        sessions: SessionTokens,
        mfa_tokens: MfaTokenService,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._sessions = sessions
        self._mfa_tokens = mfa_tokens
        self._clock = clock
        self._events = events

    async def execute(
        self, email: str, password: str, context: RequestContext
    ) -> TokenPair | MfaChallenge:
        user = await self._find(email)
        # No transaction is open while Argon2 works: it never holds a pooled connection.
        if user is None:
            await self._hasher.burn_time(password)
            await self._record_failure(None, context)
            raise InvalidCredentialsError()
        if not await self._hasher.verify(password, user.password_hash) or not user.is_active:
            await self._record_failure(user, context)
            raise InvalidCredentialsError()
        await self._rehash_if_legacy(user, password)
        if user.mfa_enabled:
            return MfaChallenge(mfa_token=self._mfa_tokens.issue_mfa(user.id))
        async with self._uow as uow:
            pair = await self._sessions.start(uow, user, context)
            now = self._clock.now()
            started = SessionStarted(occurred_at=now, session_id=pair.session_id, user_id=user.id)
            await uow.outbox.add([started], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([started])
        return pair

    async def _rehash_if_legacy(self, user: User, password: str) -> None:
        """Replace a hash of the password as typed (made before normalization) with one of its
        NFKC form. Only a password NFKC changes can have such a hash, so only those pay for the
        second check that tells it apart. No PasswordChanged: the password is the same one."""
        normalized = normalize_password(password)
        if normalized == password or await self._hasher.verify(normalized, user.password_hash):
            return
        password_hash = await self._hasher.hash(password)
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            # Changed meanwhile (a reset, say): that newer hash stands, this one is dropped.
            if current is None or current.password_hash != user.password_hash:
                return
            changed = current.changed(self._clock.now(), password_hash=password_hash)
            if await uow.users.update(changed, expected_version=current.version):
                await uow.commit()

    async def _find(self, email: str) -> User | None:
        try:
            normalized = normalize_email(email)
        except InvalidValueError:
            return None
        async with self._uow as uow:
            return await uow.users.get_by_email(normalized)

    async def _record_failure(self, user: User | None, context: RequestContext) -> None:
        async with self._uow as uow:
            await uow.audit_events.add(
                AuditEvent.record(
                    action="auth.login",
                    now=self._clock.now(),
                    actor_id=user.id if user else None,
                    target_type="user" if user else None,
                    target_id=user.id if user else None,
                    outcome=AuditOutcome.FAILURE,
                    ip=context.ip,
                    request_id=context.request_id,
                )
            )
            await uow.commit()
