"""Idempotency keys, as the IETF idempotency-key draft and API.md describe them.

Per caller and key, for 24 hours: the same request again gets the first result and causes no
second effect; a different request with the key is refused as an invalid value; while the first
is still running, another with its key is a conflict. A request that failed releases its key, so
that the client's retry runs it again, under the same reserved id.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from app.application.interfaces.idempotency import IdempotencyRecord, IdempotencyUnitOfWork
from app.application.interfaces.security import SecretBox
from app.domain.errors import ConflictError, InvalidValueError
from app.domain.value_objects.identifiers import new_id

KEY_LIFETIME = timedelta(hours=24)
# How long a claim holds its key: longer than any request may run (the provider's timeouts and
# retries included), so only a request that died mid-way leaves a key to be taken over.
DEFAULT_LOCK_DURATION = timedelta(seconds=120)


def fingerprint(request: dict[str, Any]) -> str:
    """The same hash for the same request, whatever order its fields came in."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """This request holds the key: do the work under `reserved_id`, then `complete` or `release`."""

    user_id: UUID
    key: str
    reserved_id: UUID


@dataclass(frozen=True, slots=True)
class Replay:
    """The key completed before: answer with its first result."""

    result: str


class IdempotencyKeys:
    def __init__(
        self, secret_box: SecretBox, *, lock_duration: timedelta = DEFAULT_LOCK_DURATION
    ) -> None:
        self._secret_box = secret_box
        self._lock_duration = lock_duration

    async def claim(
        self,
        uow: IdempotencyUnitOfWork,
        user_id: UUID,
        key: str,
        request_fingerprint: str,
        now: datetime,
    ) -> Claim | Replay:
        """Claim the key in a transaction of its own (committed at once, so that concurrent
        requests see it)."""
        record = IdempotencyRecord(
            user_id=user_id,
            key=key,
            fingerprint=request_fingerprint,
            reserved_id=new_id(),
            locked_until=now + self._lock_duration,
            created_at=now,
            expires_at=now + KEY_LIFETIME,
        )
        async with uow:
            if await uow.idempotency_keys.add_if_absent(record):
                await uow.commit()
                return Claim(user_id, key, record.reserved_id)
            return await self._claim_recorded(uow, record, now)

    async def _claim_recorded(
        self, uow: IdempotencyUnitOfWork, record: IdempotencyRecord, now: datetime
    ) -> Claim | Replay:
        """The key was on record already (inside `claim`'s transaction): an expired key or one
        whose request died is taken over, a completed one replayed, any other refused."""
        keys = uow.idempotency_keys
        existing = await keys.get(record.user_id, record.key)
        if existing is None:  # deleted between the two statements: it was expiring
            raise IdempotentRequestInProgressError()
        if existing.expires_at <= now:  # a new request under an old key: it starts afresh
            if not await keys.replace_expired(record, now=now):
                raise IdempotentRequestInProgressError()
            await uow.commit()
            return Claim(record.user_id, record.key, record.reserved_id)
        if existing.fingerprint != record.fingerprint:
            raise IdempotencyKeyReusedError()
        if existing.sealed_result is not None:
            return Replay(self._secret_box.open(existing.sealed_result))
        if existing.locked_until > now or not await keys.relock(
            record.user_id,
            record.key,
            previous_lock=existing.locked_until,
            locked_until=record.locked_until,
        ):
            raise IdempotentRequestInProgressError()
        await uow.commit()
        return Claim(record.user_id, record.key, existing.reserved_id)

    async def complete(self, uow: IdempotencyUnitOfWork, claim: Claim, result: str) -> None:
        """Store the result, inside the caller's transaction (the one that stores the effect)."""
        await uow.idempotency_keys.complete(
            claim.user_id, claim.key, sealed_result=self._secret_box.seal(result)
        )

    async def release(self, uow: IdempotencyUnitOfWork, claim: Claim, now: datetime) -> None:
        async with uow:
            await uow.idempotency_keys.release(claim.user_id, claim.key, now=now)
            await uow.commit()


# Errors of idempotency keys
class IdempotencyKeyReusedError(InvalidValueError):
    """The idempotency key was used before with a different request body. `field` names the
    input the key came in (presentation gives the name clients know it by)."""

    code = "idempotency.key_reused"

    def __init__(self, field: str = "idempotency_key") -> None:
        super().__init__(field=field, reason="was used with a different request")


class IdempotentRequestInProgressError(ConflictError):
    """The first request with this idempotency key is still running."""

    code = "idempotency.in_progress"
