"""Port of idempotency keys: the first result of each (caller, idempotency key), kept 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from app.application.interfaces.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A key's claim and, once the request completed, its result.

    `reserved_id` is the id of the object the request creates, chosen when the key is first seen:
    a retry after a failure creates under the same id, so a provider that keys its own
    idempotency on it never creates twice. While `locked_until` lies ahead, a request holds
    the key; a request that died leaves it to be taken over once it passes.
    """

    user_id: UUID
    key: str
    fingerprint: str  # SHA-256 of the request it was first used with
    reserved_id: UUID
    locked_until: datetime
    created_at: datetime
    expires_at: datetime
    sealed_result: str | None = None  # the first result (sealed: it may hold a client secret)

    @property
    def is_completed(self) -> bool:
        return self.sealed_result is not None


class IdempotencyRepository(Protocol):
    async def add_if_absent(self, record: IdempotencyRecord) -> bool:
        """Store the claim; False if the caller already has this key. A concurrent transaction
        storing the same key makes this wait for it to end."""
        ...

    async def get(self, user_id: UUID, key: str) -> IdempotencyRecord | None: ...

    async def relock(
        self, user_id: UUID, key: str, *, previous_lock: datetime, locked_until: datetime
    ) -> bool:
        """Take over an unlocked (released or abandoned) key: True if its lock was still
        `previous_lock`, so only one of several requests racing for it wins."""
        ...

    async def complete(self, user_id: UUID, key: str, *, sealed_result: str) -> None: ...

    async def release(self, user_id: UUID, key: str, *, now: datetime) -> None:
        """Unlock the key of a request that failed, so that a retry may run it again."""
        ...

    async def replace_expired(self, record: IdempotencyRecord, *, now: datetime) -> bool:
        """Store `record` over the caller's key if that has expired by `now`; True if it had (and
        no concurrent request replaced it first)."""
        ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete every caller's keys that expired by `now` (their sealed results with them)."""
        ...

    async def delete_for_user(self, user_id: UUID) -> int: ...


class IdempotencyUnitOfWork(UnitOfWork, Protocol):
    """What claiming and settling an idempotency key touches."""

    @property
    def idempotency_keys(self) -> IdempotencyRepository: ...
