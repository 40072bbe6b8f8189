"""GDPR erasure (art. 17): the caller deletes their account and the personal data it holds.

The password (and, with MFA on, a code) confirms it is really them (a stolen access token alone
cannot erase an account); with MFA on, a wrong password and a wrong code get the same answer.
Everything goes in one transaction, in which every feature holding personal data erases its share
(sessions, resources and their files' rows, idempotency keys, the account row) or anonymises it
(the audit trail and the payments, whose rows the operator must keep). One more row records that
an erasure happened, without saying whose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.application.interfaces.clock import Clock
from app.application.interfaces.events import EventRelay
from app.application.interfaces.privacy import AfterErasure, PersonalDataHolder, PrivacyUnitOfWork
from app.application.interfaces.security import PasswordHasher
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User, UserNotFoundError
from app.domain.events.user import UserErased


class EraseMyAccount:
    """Holders erase in the reverse of their registration order, so the features that point at
    the account (sessions, resources, payments) go before the account row itself. `UserErased`
    is recorded in the erasure's transaction, so other services erase their copies too; `events`
    hands it out once the stored files are gone."""

    def __init__(
        self,
        uow: PrivacyUnitOfWork,
        holders: Sequence[PersonalDataHolder[Any]],
        hasher: PasswordHasher,
        second_factor: SecondFactor,
        clock: Clock,
        events: EventRelay | None = None,
    ) -> None:
        self._uow = uow
        self._holders = holders
        self._hasher = hasher
        self._second_factor = second_factor
        self._clock = clock
        self._events = events

    async def execute(
        self, caller: User, password: str, code: str | None, context: RequestContext
    ) -> None:
        password_ok = await self._hasher.verify(password, caller.password_hash)
        async with self._uow as uow:
            found = await uow.users.get(caller.id)
            if found is None:
                raise UserNotFoundError()
            user = await self._second_factor.confirm(uow, found, password_ok=password_ok, code=code)
            now = self._clock.now()
            after_commit: list[AfterErasure] = []
            for holder in reversed(self._holders):
                step = await holder.erase(uow, user, now)
                if step is not None:
                    after_commit.append(step)
            await uow.audit_events.add(
                AuditEvent.record(
                    action="user.erase",
                    now=now,
                    actor_id=None,
                    target_type="user",
                    request_id=context.request_id,
                )
            )
            erased = UserErased(occurred_at=now, user_id=user.id)
            await uow.outbox.add([erased], now)
            await uow.commit()
        # Stored files go once the rows are gone for good; a crash here leaves unreadable
        # orphans (their data keys were in the deleted rows), never readable personal data.
        for step in after_commit:
            await step()
        if self._events is not None:
            await self._events.relay([erased])
