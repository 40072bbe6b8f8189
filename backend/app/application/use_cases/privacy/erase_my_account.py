"""GDPR erasure (art. 17): the caller deletes their account and the personal data it holds.

The password (and, with MFA on, a code) confirms it is really them (a stolen access token alone
cannot erase an account); with MFA on, a wrong password and a wrong code get the same answer.
Everything goes in one transaction: sessions (so every token stops), resources and their files'
rows, idempotency keys, the account row, and the
caller's name, address and IP are cut out of the audit trail and the payments, whose rows stay
(anonymised) because the trail and the accounts are what the operator must keep. One more row records that an erasure happened,
without saying whose.
"""

from __future__ import annotations

from app.application.interfaces.clock import Clock
from app.application.interfaces.resource import FileStorage
from app.application.interfaces.security import PasswordHasher
from app.application.interfaces.unit_of_work import UnitOfWork
from app.application.request_context import RequestContext
from app.application.services.credentials.second_factor import SecondFactor
from app.domain.entities.audit import AuditEvent
from app.domain.entities.user import User, UserNotFoundError


class EraseMyAccount:
    def __init__(
        self,
        uow: UnitOfWork,
        hasher: PasswordHasher,
        second_factor: SecondFactor,
        storage: FileStorage,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._second_factor = second_factor
        self._storage = storage
        self._clock = clock

    async def execute(
        self, caller: User, password: str, code: str | None, context: RequestContext
    ) -> None:
        password_ok = await self._hasher.verify(password, caller.password_hash)
        async with self._uow as uow:
            found = await uow.users.get(caller.id)
            if found is None:
                raise UserNotFoundError()
            user = await self._second_factor.confirm(uow, found, password_ok=password_ok, code=code)
            await uow.sessions.delete_all_for_user(user.id)
            files = await uow.resource_files.list_by_owner(user.id)
            await uow.resources.delete_by_owner(user.id)
            await uow.audit_events.anonymise_actor(user.id)
            await uow.payments.anonymise_user(user.id, now=self._clock.now())
            await uow.idempotency_keys.delete_for_user(user.id)
            await uow.users.delete(user.id)
            await uow.audit_events.add(
                AuditEvent.record(
                    action="user.erase",
                    now=self._clock.now(),
                    actor_id=None,
                    target_type="user",
                    request_id=context.request_id,
                )
            )
            await uow.commit()
        # The ciphertext goes once the rows are gone for good; a crash here leaves unreadable
        # orphans (their data keys were in the deleted rows), never readable personal data.
        for stored_file in files:
            await self._storage.delete(stored_file.storage_key)
