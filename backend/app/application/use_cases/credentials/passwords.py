"""Changing a password, and resetting a forgotten one through a link sent by e-mail."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import MailMessage, MailSender
from app.application.interfaces.security import PasswordHasher
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.application.services.credentials.one_time_links import send_quietly, store_link_token
from app.application.services.credentials.password_policy import PasswordPolicy
from app.application.services.credentials.second_factor import SecondFactor
from app.application.services.session import SessionTokens
from app.domain.entities.audit import AuditEvent
from app.domain.entities.credentials import (
    InvalidOneTimeTokenError,
    TokenPurpose,
    parse_one_time_token,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.errors import InvalidValueError
from app.domain.value_objects.email import normalize_email


class ChangePassword:
    """The signed-in user changes their password (current password, and a code if MFA is on;
    with MFA on either one wrong gets the same answer). Every other session is revoked; the one
    making the change stays signed in."""

    def __init__(
        self,
        uow: UnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        second_factor: SecondFactor,
        sessions: SessionTokens,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._second_factor = second_factor
        self._sessions = sessions
        self._clock = clock

    async def execute(
        self,
        user: User,
        *,
        current_password: str,
        new_password: str,
        code: str | None,
        current_session_id: UUID,
        context: RequestContext,
    ) -> None:
        # The new password's strength is judged first and the new hash is made whatever the
        # current password: neither the answer (422 or 403) nor its timing may tell a right
        # password from a wrong one while the code is still owed.
        await self._policy.ensure_strong(
            new_password, email=user.email, full_name=user.full_name, field="new_password"
        )
        password_ok = await self._hasher.verify(current_password, user.password_hash)
        password_hash = await self._hasher.hash(new_password)
        async with self._uow as uow:
            found = await uow.users.get(user.id)
            if found is None:
                raise UserNotFoundError()
            current = await self._second_factor.confirm(
                uow, found, password_ok=password_ok, code=code
            )
            now = self._clock.now()
            changed = current.changed(now, password_hash=password_hash)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await self._sessions.revoke_all(
                uow, user.id, now=now, keep_session_id=current_session_id
            )
            await uow.audit_events.add(_audit("password.change", user.id, context, now))
            await uow.commit()


class RequestPasswordReset:
    """Mails a reset link if the address has an account; says nothing either way.

    Meant to run after the 202 has been sent (a background task), so neither the answer nor its
    timing tells whether the account exists. A failure is logged, never raised to anyone.
    """

    def __init__(self, uow: UnitOfWork, mail: MailSender, clock: Clock, *, reset_url: str) -> None:
        self._uow = uow
        self._mail = mail
        self._clock = clock
        self._reset_url = reset_url

    async def execute(self, email: str) -> None:
        try:
            normalized = normalize_email(email)
        except InvalidValueError:
            return
        async with self._uow as uow:
            user = await uow.users.get_by_email(normalized)
            if user is None or not user.is_active:
                return
            link_token = await store_link_token(
                uow, user.id, TokenPurpose.PASSWORD_RESET, self._clock.now()
            )
            await uow.commit()
        message = MailMessage(
            to=user.email,
            subject="Reset your Strata password",
            text=(
                "Someone (hopefully you) asked to reset the password of your Strata account.\n\n"
                f"Open this link within 30 minutes to choose a new one:\n{self._reset_url}{link_token}\n\n"
                "If it was not you, ignore this message: your password has not changed.\n"
            ),
        )
        await send_quietly(self._mail, message, TokenPurpose.PASSWORD_RESET)


class ResetPassword:
    """Spends a reset token for a new password; every session of the account is revoked, and
    the e-mail address counts as verified."""

    def __init__(
        self,
        uow: UnitOfWork,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        sessions: SessionTokens,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._sessions = sessions
        self._clock = clock

    async def execute(self, token: str, new_password: str, context: RequestContext) -> None:
        token_id, secret = parse_one_time_token(token)
        async with self._uow as uow:
            stored = await uow.one_time_tokens.get(token_id)
            now = self._clock.now()
            if stored is None or not stored.redeemable(secret, TokenPurpose.PASSWORD_RESET, now):
                raise InvalidOneTimeTokenError()
            user = await uow.users.get(stored.user_id)
            if user is None or not user.is_active:
                raise InvalidOneTimeTokenError()
        await self._policy.ensure_strong(
            new_password, email=user.email, full_name=user.full_name, field="new_password"
        )
        password_hash = await self._hasher.hash(new_password)
        async with self._uow as uow:
            now = self._clock.now()
            if not await uow.one_time_tokens.mark_used(token_id, now):
                raise InvalidOneTimeTokenError()  # spent by a twin request meanwhile
            current = await uow.users.get(user.id)
            if current is None:
                raise InvalidOneTimeTokenError()
            # The link reached this inbox: that proves the address as the verification link would.
            changed = current.changed(now, password_hash=password_hash, email_verified=True)
            if not await uow.users.update(changed, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            await self._sessions.revoke_all(uow, user.id, now=now)
            await uow.audit_events.add(_audit("password.reset", user.id, context, now))
            await uow.commit()


def _audit(action: str, user_id: UUID, context: RequestContext, now: datetime) -> AuditEvent:
    return AuditEvent.record(
        action=action,
        now=now,
        actor_id=user_id,
        target_type="user",
        target_id=user_id,
        ip=context.ip,
        request_id=context.request_id,
    )
