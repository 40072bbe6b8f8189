from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.credentials import CredentialsUnitOfWork
from app.application.interfaces.events import EventRelay
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.application.use_cases.credentials.audit_events import account_event
from app.domain.entities.credentials import (
    MfaAlreadyEnabledError,
    MfaSetupMissingError,
    WrongSecondFactorError,
)
from app.domain.entities.user import User, UserChangedConcurrentlyError, UserNotFoundError
from app.domain.events.credentials import SecondFactorEnabled
from app.domain.value_objects.recovery_code import hash_recovery_code, new_recovery_codes


class EnableMfa:
    """Confirms the set-up secret with a code; answers the 10 recovery codes, shown only now.
    MFA on records `SecondFactorEnabled`, handed out by `events` after the commit."""

    def __init__(
        self,
        uow: CredentialsUnitOfWork,
        second_factor: SecondFactor,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._second_factor = second_factor
        self._clock = clock
        self._events = events

    async def execute(self, user: User, code: str, context: RequestContext) -> list[str]:
        async with self._uow as uow:
            current = await uow.users.get(user.id)
            if current is None:
                raise UserNotFoundError()
            if current.mfa_enabled:
                raise MfaAlreadyEnabledError()
            if current.totp_secret_sealed is None:
                raise MfaSetupMissingError()
            step = self._second_factor.matching_step(
                current.totp_secret_sealed, code, after=current.totp_last_used_step
            )
            if step is None:
                raise WrongSecondFactorError()
            now = self._clock.now()
            enabled = current.changed(now, mfa_enabled=True, totp_last_used_step=step)
            if not await uow.users.update(enabled, expected_version=current.version):
                raise UserChangedConcurrentlyError()
            codes = new_recovery_codes()
            await uow.recovery_codes.replace_all(user.id, [hash_recovery_code(c) for c in codes])
            await uow.audit_events.add(account_event("mfa.enable", user.id, context, now))
            event = SecondFactorEnabled(occurred_at=now, user_id=user.id)
            await uow.outbox.add([event], now)
            await uow.commit()
        if self._events is not None:
            await self._events.relay([event])
        return codes
