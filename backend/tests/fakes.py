"""Hand-written in-memory fakes of the application ports, for use-case tests.

The unit of work keeps a committed snapshot of every repository and a working copy: writes made
inside `async with uow:` become visible to later transactions only after `commit()`, so a test can
assert that a failed use case stored nothing. Repositories refuse to be used outside a transaction,
as a use case that did so would escape the rollback.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import math
import re
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Hashable,
    Iterable,
    Mapping,
    Sequence,
)
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Protocol, Self, TypeVar
from uuid import UUID

from app.application.errors import DependencyUnavailableError, RateLimitedError
from app.application.interfaces.access import (
    PolicyRule,
)
from app.application.interfaces.audit import AuditFilter
from app.application.interfaces.idempotency import IdempotencyRecord
from app.application.interfaces.job import JobFilter
from app.application.interfaces.payment import (
    IntentRequest,
    ProviderEvent,
    ProviderIntent,
    WebhookEvent,
)
from app.application.interfaces.pipeline import ChunkHit, EmbeddingModel
from app.application.interfaces.privacy import PersonalDataHolder
from app.application.interfaces.product import (
    ProductFilter,
)
from app.application.interfaces.resource import (
    FileStorage,
    FileTooLargeError,
    SealedBlob,
)
from app.application.interfaces.security import AccessToken, AccessTokenClaims, MfaTokenClaims
from app.application.use_cases.audit.personal_data import AuditPersonalData
from app.application.use_cases.idempotency.personal_data import IdempotencyPersonalData
from app.application.use_cases.payment.personal_data import PaymentPersonalData
from app.application.use_cases.resource.personal_data import ResourcePersonalData
from app.application.use_cases.session.personal_data import SessionPersonalData
from app.application.use_cases.user.personal_data import UserPersonalData
from app.domain.entities.audit import AuditEvent
from app.domain.entities.credentials import OneTimeToken, TokenPurpose
from app.domain.entities.job import Job, JobStatus
from app.domain.entities.payment import Payment, PaymentFailure, PaymentStatus
from app.domain.entities.pipeline import Chunk, PipelineArtifact, PipelineRun, StepName
from app.domain.entities.product import Product
from app.domain.entities.resource import Resource, StoredFile
from app.domain.entities.session import InvalidTokenError, Session
from app.domain.entities.user import EmailAlreadyRegisteredError, User
from app.domain.errors import CodedError
from app.domain.events import DomainEvent
from app.domain.services.recommendation import ProductClass
from tests.databases import registered_features

DEFAULT_NOW = datetime(2026, 1, 15, 9, 30, tzinfo=UTC)
CATEGORIES = ("electronics", "books", "clothing")
# What a fresh installation allows: the union of every feature's declared default rules.
# What a freshly migrated database allows: every registered feature's default rules.
DEFAULT_POLICY_RULES = registered_features().policy_rules
DEFAULT_PASSWORD = "a long and unguessable passphrase"


class _FakeRepository(Protocol):
    """What the fake unit of work does with each repository: open, commit and end transactions."""

    in_transaction: bool

    def begin(self) -> None: ...

    def commit(self) -> None: ...

    def end(self) -> None: ...


FakeRepositoryT = TypeVar("FakeRepositoryT", bound=_FakeRepository)


# Repository name (the unit-of-work member) -> the fake that stands in for the SQL one. Each fake
# registers itself with `@fake_repository(...)`; a contract test checks this against the features.
FAKE_REPOSITORIES: dict[str, type[_FakeRepository]] = {}


def fake_repository(name: str) -> Callable[[type[FakeRepositoryT]], type[FakeRepositoryT]]:
    def register(cls: type[FakeRepositoryT]) -> type[FakeRepositoryT]:
        if name in FAKE_REPOSITORIES:
            raise AssertionError(f"two fakes for repository {name!r}")
        FAKE_REPOSITORIES[name] = cls
        return cls

    return register


class _HasId(Protocol):
    @property
    def id(self) -> UUID: ...


Row = TypeVar("Row", bound=_HasId)


Key = TypeVar("Key", bound=Hashable)
Value = TypeVar("Value")


class _TransactionalRows(Generic[Key, Value]):
    """Rows by key: what is committed, and the working copy of the open transaction."""

    def __init__(self) -> None:
        self._committed: dict[Key, Value] = {}
        self._working: dict[Key, Value] = {}
        self.in_transaction = False

    def _rows(self) -> dict[Key, Value]:
        if not self.in_transaction:
            raise AssertionError("repository used outside `async with uow:`")
        return self._working

    def begin(self) -> None:
        self._working = dict(self._committed)
        self.in_transaction = True

    def commit(self) -> None:
        self._committed = dict(self._working)

    def end(self) -> None:
        self._working = dict(self._committed)
        self.in_transaction = False


class _Transactional(_TransactionalRows[UUID, Row]):
    """Rows of one repository, by their `id`."""

    def seed(self, *rows: Row) -> None:
        """Store `rows` as already committed (test set-up, outside any transaction)."""
        for row in rows:
            self._committed[row.id] = row
        self._working = dict(self._committed)

    @property
    def committed(self) -> list[Row]:
        """What a later transaction would see, by id."""
        return sorted(self._committed.values(), key=lambda row: row.id)

    def commit_elsewhere(self, row: Row) -> None:
        """Another transaction stores `row` and commits it (a concurrent request)."""
        self._committed[row.id] = row
        if self.in_transaction:
            self._working[row.id] = row

    def committed_row(self, row_id: UUID) -> Row | None:
        return self._committed.get(row_id)


class _KeyedTransactional(_TransactionalRows[Key, Value]):
    """Rows whose key is not a UUID `id` (idempotency keys, webhook events)."""

    @property
    def committed(self) -> dict[Key, Value]:
        return dict(self._committed)


@dataclasses.dataclass(frozen=True)
class OutboxEntry:
    event: DomainEvent
    recorded_at: datetime
    published_at: datetime | None = None


@fake_repository("outbox")
class FakeEventOutbox(_KeyedTransactional[UUID, OutboxEntry]):
    """The outbox, by event id, with when each event was recorded and published."""

    async def add(self, events: Sequence[DomainEvent], recorded_at: datetime) -> None:
        for event in events:
            self._rows()[event.event_id] = OutboxEntry(event, recorded_at)

    async def unpublished(
        self, limit: int, *, recorded_before: datetime | None = None
    ) -> list[DomainEvent]:
        pending = [
            entry
            for entry in self._rows().values()
            if entry.published_at is None
            and (recorded_before is None or entry.recorded_at < recorded_before)
        ]
        pending.sort(key=lambda entry: (entry.recorded_at, entry.event.event_id))
        return [entry.event for entry in pending[:limit]]

    async def mark_published(self, event_ids: Sequence[UUID], now: datetime) -> None:
        rows = self._rows()
        for event_id in event_ids:
            if event_id in rows:
                rows[event_id] = dataclasses.replace(rows[event_id], published_at=now)

    async def delete_published_before(self, cutoff: datetime) -> int:
        rows = self._rows()
        old = [k for k, e in rows.items() if e.published_at is not None and e.published_at < cutoff]
        for event_id in old:
            del rows[event_id]
        return len(old)

    async def published_since(
        self, cutoff: datetime, *, after: UUID | None, limit: int
    ) -> list[DomainEvent]:
        entries = sorted(
            (
                e
                for e in self._rows().values()
                if e.published_at is not None
                and e.published_at >= cutoff
                and (after is None or e.event.event_id > after)
            ),
            key=lambda e: e.event.event_id,
        )
        return [entry.event for entry in entries[:limit]]

    async def oldest_unpublished_at(self) -> datetime | None:
        waiting = [e.recorded_at for e in self._rows().values() if e.published_at is None]
        return min(waiting, default=None)

    @property
    def committed_events(self) -> list[DomainEvent]:
        return [entry.event for entry in self._committed.values()]


@fake_repository("processed_events")
class FakeProcessedEvents(_KeyedTransactional[tuple[str, UUID], datetime]):
    """Which handler has handled which event, and when."""

    async def claim(self, handler: str, event_id: UUID, now: datetime) -> bool:
        rows = self._rows()
        if (handler, event_id) in rows:
            return False
        rows[(handler, event_id)] = now
        return True

    async def delete_before(self, cutoff: datetime) -> int:
        rows = self._rows()
        old = [key for key, claimed_at in rows.items() if claimed_at < cutoff]
        for key in old:
            del rows[key]
        return len(old)


@fake_repository("products")
class FakeProductRepository(_Transactional[Product]):
    """Same ordering and semantics as SqlAlchemyProductRepository: every list is by id ascending."""

    async def add(self, product: Product) -> None:
        rows = self._rows()
        if product.id in rows:
            raise AssertionError(f"primary key {product.id} already stored")
        rows[product.id] = product

    async def add_many(self, products: Sequence[Product]) -> None:
        for product in products:
            await self.add(product)

    async def get(self, product_id: UUID) -> Product | None:
        return self._rows().get(product_id)

    async def replace(self, product: Product, *, expected_version: int) -> bool:
        rows = self._rows()
        stored = rows.get(product.id)
        if stored is None or stored.version != expected_version:
            return False
        rows[product.id] = product
        return True

    async def delete(self, product_id: UUID) -> bool:
        return self._rows().pop(product_id, None) is not None

    async def list_page(
        self, product_filter: ProductFilter, *, after: UUID | None, limit: int
    ) -> list[Product]:
        matching = [
            p
            for p in self._by_id()
            if _matches(p, product_filter) and (after is None or p.id > after)
        ]
        return matching[:limit]

    async def list_in_classes(
        self, classes: Sequence[ProductClass], *, limit: int, exclude: UUID | None = None
    ) -> list[Product]:
        wanted = {(c.category, c.price_range) for c in classes}
        matching = [
            p for p in self._by_id() if (p.category, p.price_range) in wanted and p.id != exclude
        ]
        return matching[:limit]

    async def count(self) -> int:
        return len(self._rows())

    def _by_id(self) -> list[Product]:
        return sorted(self._rows().values(), key=lambda p: p.id)


def _matches(product: Product, product_filter: ProductFilter) -> bool:
    if product_filter.category is not None and product.category != product_filter.category:
        return False
    if product_filter.price_range is not None and product.price_range != product_filter.price_range:
        return False
    needle = product_filter.name_contains
    return not needle or needle.lower() in product.name.lower()


@fake_repository("users")
class FakeUserRepository(_Transactional[User]):
    """Like the real one, refuses a second account with the same (normalised) e-mail."""

    _sessions: FakeSessionRepository

    async def add(self, user: User) -> None:
        rows = self._rows()
        if any(u.email == user.email for u in rows.values()):
            raise EmailAlreadyRegisteredError()
        rows[user.id] = user

    async def get(self, user_id: UUID) -> User | None:
        return self._rows().get(user_id)

    def link(self, uow: FakeUnitOfWork) -> None:
        """The sessions `get_in_session` joins with, from the same unit of work."""
        self._sessions = uow.fake_sessions

    async def get_in_session(self, user_id: UUID, session_id: UUID, now: datetime) -> User | None:
        session = self._sessions._rows().get(session_id)
        if session is None or session.user_id != user_id or session.expires_at <= now:
            return None
        return self._rows().get(user_id)

    async def delete(self, user_id: UUID) -> bool:
        if self._rows().pop(user_id, None) is None:
            return False
        # Like ON DELETE CASCADE: the user's sessions go with the row.
        for session in [s for s in self._sessions._rows().values() if s.user_id == user_id]:
            del self._sessions._rows()[session.id]
        return True

    async def list_page(self, *, after: UUID | None, limit: int) -> list[User]:
        users = sorted(self._rows().values(), key=lambda user: user.id)
        return [user for user in users if after is None or user.id > after][:limit]

    async def update(self, user: User, *, expected_version: int) -> bool:
        rows = self._rows()
        current = rows.get(user.id)
        if current is None or current.version != expected_version:
            return False
        if any(other.email == user.email and other.id != user.id for other in rows.values()):
            raise EmailAlreadyRegisteredError()
        rows[user.id] = user
        return True

    async def get_by_email(self, email: str) -> User | None:
        for user in self._rows().values():
            if user.email == email:
                return user
        return None


@fake_repository("audit_events")
class FakeAuditRepository(_Transactional[AuditEvent]):
    async def add(self, event: AuditEvent) -> None:
        self._rows()[event.id] = event

    async def list_page(
        self, audit_filter: AuditFilter, *, before: UUID | None, limit: int
    ) -> list[AuditEvent]:
        events = sorted(self._rows().values(), key=lambda event: event.id, reverse=True)
        return [
            event
            for event in events
            if (audit_filter.actor_id is None or event.actor_id == audit_filter.actor_id)
            and (audit_filter.action is None or event.action == audit_filter.action)
            and (before is None or event.id < before)
        ][:limit]

    async def list_about_user(self, user_id: UUID) -> list[AuditEvent]:
        return sorted(
            (
                event
                for event in self._rows().values()
                if event.actor_id == user_id or event.target_id == str(user_id)
            ),
            key=lambda event: event.id,
        )

    async def anonymise_actor(self, user_id: UUID) -> None:
        rows = self._rows()
        for event_id, event in list(rows.items()):
            changes: dict[str, Any] = {}
            if event.actor_id == user_id:
                changes.update(actor_id=None, ip=None)
            if event.target_id == str(user_id):
                changes.update(target_id=None)
            if changes:
                rows[event_id] = event.model_copy(update=changes)

    @property
    def actions(self) -> list[str]:
        """The committed events' actions, oldest first."""
        return [event.action for event in self.committed]


@fake_repository("policy_rules")
class FakePolicyRuleRepository:
    """The stored policy (the default rules unless told otherwise), transactional like the rest;
    `version` counts the committed changes."""

    def __init__(self, rules: Sequence[PolicyRule] = DEFAULT_POLICY_RULES) -> None:
        self._committed = (sorted(rules), 0)
        self._rules, self._version = self._committed
        self.in_transaction = False

    @property
    def committed(self) -> list[PolicyRule]:
        return list(self._committed[0])

    @property
    def version(self) -> int:
        return self._committed[1]

    def _working(self) -> list[PolicyRule]:
        if not self.in_transaction:
            raise AssertionError("repository used outside `async with uow:`")
        return self._rules

    async def claim_change(self) -> None:
        self._working()
        self._version += 1

    async def list_rules(self) -> list[PolicyRule]:
        return sorted(self._working())

    async def add(self, rule: PolicyRule) -> None:
        self._working().append(rule)

    async def remove(self, rule: PolicyRule) -> bool:
        rules = self._working()
        if rule not in rules:
            return False
        rules.remove(rule)
        return True

    def begin(self) -> None:
        self._rules, self._version = list(self._committed[0]), self._committed[1]
        self.in_transaction = True

    def commit(self) -> None:
        self._committed = (sorted(self._rules), self._version)

    def end(self) -> None:
        self.in_transaction = False


@fake_repository("resources")
class FakeResourceRepository(_Transactional[Resource]):
    """Deleting a resource deletes its files' rows, like the real foreign key's cascade."""

    _files: FakeResourceFileRepository

    def link(self, uow: FakeUnitOfWork) -> None:
        self._files = uow.fake_resource_files

    async def add(self, resource: Resource) -> None:
        self._rows()[resource.id] = resource

    async def get(self, resource_id: UUID) -> Resource | None:
        return self._rows().get(resource_id)

    async def replace(self, resource: Resource, *, expected_version: int) -> bool:
        current = self._rows().get(resource.id)
        if current is None or current.version != expected_version:
            return False
        self._rows()[resource.id] = resource
        return True

    async def delete(self, resource_id: UUID) -> bool:
        for stored in [f for f in self._files._rows().values() if f.resource_id == resource_id]:
            del self._files._rows()[stored.id]
        return self._rows().pop(resource_id, None) is not None

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[Resource]:
        rows = sorted(self._rows().values(), key=lambda r: r.id)
        return [
            r
            for r in rows
            if (owner_id is None or r.owner_id == owner_id) and (after is None or r.id > after)
        ][:limit]

    async def list_by_owner(self, owner_id: UUID) -> list[Resource]:
        return await self.list_page(owner_id=owner_id, after=None, limit=10**9)

    async def delete_by_owner(self, owner_id: UUID) -> int:
        mine = await self.list_by_owner(owner_id)
        for resource in mine:
            await self.delete(resource.id)
        return len(mine)


@fake_repository("resource_files")
class FakeResourceFileRepository(_Transactional[StoredFile]):
    async def add(self, stored_file: StoredFile) -> None:
        self._rows()[stored_file.id] = stored_file

    async def get(self, resource_id: UUID, file_id: UUID) -> StoredFile | None:
        stored = self._rows().get(file_id)
        return stored if stored is not None and stored.resource_id == resource_id else None

    async def list_for_resource(self, resource_id: UUID) -> list[StoredFile]:
        return sorted(
            (f for f in self._rows().values() if f.resource_id == resource_id), key=lambda f: f.id
        )

    async def list_by_owner(self, owner_id: UUID) -> list[StoredFile]:
        return sorted(
            (f for f in self._rows().values() if f.owner_id == owner_id), key=lambda f: f.id
        )

    async def delete(self, file_id: UUID) -> bool:
        return self._rows().pop(file_id, None) is not None


class FakeFileStorage:
    """Keeps contents in a dict (unencrypted: the real adapter's encryption has its own tests)."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def save(
        self, file_id: UUID, chunks: AsyncIterator[bytes], *, max_bytes: int
    ) -> SealedBlob:
        data = bytearray()
        async for chunk in chunks:
            data.extend(chunk)
            if len(data) > max_bytes:
                raise FileTooLargeError(limit=max_bytes)
        key = f"fake/{file_id.hex}"
        self.blobs[key] = bytes(data)
        return SealedBlob(
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            key_id="fake",
            wrapped_key=b"wrapped",
            storage_key=key,
        )

    async def open(self, stored_file: StoredFile) -> AsyncIterator[bytes]:
        yield self.blobs[stored_file.storage_key]

    async def delete(self, storage_key: str) -> None:
        self.blobs.pop(storage_key, None)

    async def delete_all(self, storage_keys: Iterable[str]) -> None:
        for storage_key in storage_keys:
            self.blobs.pop(storage_key, None)


@fake_repository("one_time_tokens")
class FakeOneTimeTokenRepository(_Transactional[OneTimeToken]):
    async def add(self, token: OneTimeToken) -> None:
        self._rows()[token.id] = token

    async def get(self, token_id: UUID) -> OneTimeToken | None:
        return self._rows().get(token_id)

    async def mark_used(self, token_id: UUID, now: datetime) -> bool:
        token = self._rows().get(token_id)
        if token is None or token.used_at is not None:
            return False
        self._rows()[token_id] = token.model_copy(update={"used_at": now})
        return True

    async def delete_for_user(self, user_id: UUID, purpose: TokenPurpose) -> int:
        doomed = [
            t.id for t in self._rows().values() if t.user_id == user_id and t.purpose is purpose
        ]
        for token_id in doomed:
            del self._rows()[token_id]
        return len(doomed)


@fake_repository("recovery_codes")
class FakeRecoveryCodeRepository:
    """Unused recovery code hashes per user; transactional like the rest (a code spent in a
    transaction that is rolled back stays usable)."""

    def __init__(self) -> None:
        self._committed: dict[UUID, frozenset[str]] = {}
        self._codes: dict[UUID, set[str]] = {}
        self.in_transaction = False

    @property
    def unused(self) -> dict[UUID, set[str]]:
        """The committed unused code hashes, by user."""
        return {user_id: set(codes) for user_id, codes in self._committed.items()}

    def _working(self) -> dict[UUID, set[str]]:
        if not self.in_transaction:
            raise AssertionError("repository used outside `async with uow:`")
        return self._codes

    async def replace_all(self, user_id: UUID, code_hashes: Sequence[str]) -> None:
        self._working()[user_id] = set(code_hashes)

    async def use(self, user_id: UUID, code_hash: str, now: datetime) -> bool:
        codes = self._working().get(user_id, set())
        if code_hash not in codes:
            return False
        codes.remove(code_hash)
        return True

    async def delete_all(self, user_id: UUID) -> None:
        self._working().pop(user_id, None)

    def begin(self) -> None:
        self._codes = {user_id: set(codes) for user_id, codes in self._committed.items()}
        self.in_transaction = True

    def commit(self) -> None:
        self._committed = {user_id: frozenset(codes) for user_id, codes in self._codes.items()}

    def end(self) -> None:
        self.in_transaction = False


@fake_repository("payments")
class FakePaymentRepository(_Transactional[Payment]):
    async def add(self, payment: Payment) -> None:
        if any(p.provider_id == payment.provider_id for p in self._rows().values()):
            raise AssertionError("duplicate provider_id (a unique index in the database)")
        self._rows()[payment.id] = payment

    async def get(self, payment_id: UUID) -> Payment | None:
        return self._rows().get(payment_id)

    async def get_by_provider_id(
        self, provider_id: str, *, for_update: bool = False
    ) -> Payment | None:
        return next((p for p in self._rows().values() if p.provider_id == provider_id), None)

    async def replace(self, payment: Payment, *, expected_version: int) -> bool:
        current = self._rows().get(payment.id)
        if current is None or current.version != expected_version:
            return False
        self._rows()[payment.id] = payment
        return True

    async def list_page(self, *, user_id: UUID, after: UUID | None, limit: int) -> list[Payment]:
        rows = sorted(self._rows().values(), key=lambda p: p.id)
        return [p for p in rows if p.user_id == user_id and (after is None or p.id > after)][:limit]

    async def list_by_user(self, user_id: UUID) -> list[Payment]:
        return await self.list_page(user_id=user_id, after=None, limit=10**9)

    async def anonymise_user(self, user_id: UUID, *, now: datetime) -> int:
        mine = await self.list_by_user(user_id)
        for payment in mine:
            self._rows()[payment.id] = payment.model_copy(
                update={
                    "user_id": None,
                    "metadata": {},
                    "sealed_client_secret": None,
                    "version": payment.version + 1,
                    "updated_at": now,
                }
            )
        return len(mine)


@fake_repository("idempotency_keys")
class FakeIdempotencyRepository(_KeyedTransactional[tuple[UUID, str], IdempotencyRecord]):
    async def add_if_absent(self, record: IdempotencyRecord) -> bool:
        key = (record.user_id, record.key)
        if key in self._rows():
            return False
        self._rows()[key] = record
        return True

    async def get(self, user_id: UUID, key: str) -> IdempotencyRecord | None:
        return self._rows().get((user_id, key))

    async def relock(
        self, user_id: UUID, key: str, *, previous_lock: datetime, locked_until: datetime
    ) -> bool:
        record = self._rows().get((user_id, key))
        if record is None or record.is_completed or record.locked_until != previous_lock:
            return False
        self._rows()[(user_id, key)] = dataclasses.replace(record, locked_until=locked_until)
        return True

    async def complete(self, user_id: UUID, key: str, *, sealed_result: str) -> None:
        record = self._rows()[(user_id, key)]
        self._rows()[(user_id, key)] = dataclasses.replace(record, sealed_result=sealed_result)

    async def release(self, user_id: UUID, key: str, *, now: datetime) -> None:
        record = self._rows().get((user_id, key))
        if record is not None and not record.is_completed:
            self._rows()[(user_id, key)] = dataclasses.replace(record, locked_until=now)

    async def replace_expired(self, record: IdempotencyRecord, *, now: datetime) -> bool:
        key = (record.user_id, record.key)
        current = self._rows().get(key)
        if current is None or current.expires_at > now:
            return False
        self._rows()[key] = record
        return True

    async def delete_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._rows().items() if record.expires_at <= now]
        for key in expired:
            del self._rows()[key]
        return len(expired)

    async def delete_for_user(self, user_id: UUID) -> int:
        mine = [key for key in self._rows() if key[0] == user_id]
        for key in mine:
            del self._rows()[key]
        return len(mine)


@fake_repository("webhook_events")
class FakeWebhookEventRepository(_KeyedTransactional[str, WebhookEvent]):
    async def add_if_absent(self, event: WebhookEvent) -> bool:
        if event.event_id in self._rows():
            return False
        self._rows()[event.event_id] = event
        return True

    async def mark_processed(self, event_id: str, *, outcome: str, now: datetime) -> None:
        event = self._rows()[event_id]
        self._rows()[event_id] = dataclasses.replace(event, outcome=outcome, processed_at=now)

    async def get(self, event_id: str) -> WebhookEvent | None:
        return self._rows().get(event_id)

    async def drop_payloads_received_before(self, cutoff: datetime, *, limit: int) -> int:
        rows = self._rows()
        old = sorted(
            (e for e in rows.values() if e.received_at < cutoff and e.payload),
            key=lambda e: e.received_at,
        )[:limit]
        for event in old:
            rows[event.event_id] = dataclasses.replace(event, payload="")
        return len(old)


@fake_repository("jobs")
class FakeJobRepository(_KeyedTransactional[UUID, Job]):
    """Jobs by id, each stored as a copy (a caller's changes count only once `update`d), with
    the time each was last sent to the engine."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_at: dict[UUID, datetime] = {}

    async def add(self, job: Job) -> None:
        self._rows()[job.id] = dataclasses.replace(job)
        self.sent_at[job.id] = job.created_at

    async def add_unless_duplicate(self, job: Job) -> bool:
        if job.dedupe_key is not None and any(
            j.dedupe_key == job.dedupe_key for j in self._rows().values()
        ):
            return False
        await self.add(job)
        return True

    async def get(self, job_id: UUID) -> Job | None:
        job = self._rows().get(job_id)
        return dataclasses.replace(job) if job is not None else None

    async def update(self, job: Job) -> bool:
        stored = self._rows().get(job.id)
        if stored is None or stored.version != job.version:
            return False
        job.version += 1
        self._rows()[job.id] = dataclasses.replace(job)
        return True

    async def list_page(
        self, job_filter: JobFilter, *, before: UUID | None, limit: int
    ) -> list[Job]:
        jobs = sorted(self._rows().values(), key=lambda j: j.id, reverse=True)
        return [
            dataclasses.replace(j)
            for j in jobs
            if (job_filter.kind is None or j.kind == job_filter.kind)
            and (job_filter.status is None or j.status is job_filter.status)
            and (before is None or j.id < before)
        ][:limit]

    async def due(self, now: datetime, *, sent_before: datetime, limit: int) -> list[UUID]:
        def is_due(job: Job) -> bool:
            if job.status is JobStatus.QUEUED:
                return self.sent_at[job.id] < sent_before
            sent_at = self.sent_at[job.id]
            if job.status is JobStatus.FAILED:
                return job.run_after <= now and (sent_at < job.run_after or sent_at < sent_before)
            expires = job.lease_expires_at
            return (
                job.status is JobStatus.RUNNING
                and expires is not None
                and expires <= now
                and (sent_at < expires or sent_at < sent_before)
            )

        due = sorted(
            (j for j in self._rows().values() if is_due(j)), key=lambda j: (j.run_after, j.id)
        )
        return [j.id for j in due[:limit]]

    async def mark_sent(self, job_ids: Sequence[UUID], now: datetime) -> None:
        for job_id in job_ids:
            self.sent_at[job_id] = now

    async def running(self, limit: int) -> list[Job]:
        jobs = sorted(self._rows().values(), key=lambda j: j.id)
        return [dataclasses.replace(j) for j in jobs if j.status is JobStatus.RUNNING][:limit]

    async def depth_by_kind(self) -> Mapping[tuple[str, JobStatus], int]:
        depth: dict[tuple[str, JobStatus], int] = {}
        for job in self._rows().values():
            if job.status in (
                JobStatus.QUEUED,
                JobStatus.RUNNING,
                JobStatus.FAILED,
                JobStatus.DEAD,
            ):
                depth[job.kind, job.status] = depth.get((job.kind, job.status), 0) + 1
        return depth

    async def delete_finished_before(self, cutoff: datetime) -> int:
        rows = self._rows()
        old = [
            k
            for k, j in rows.items()
            if j.status.is_final and j.finished_at is not None and j.finished_at < cutoff
        ]
        for job_id in old:
            del rows[job_id]
        return len(old)


# ---------------------------------------------------------------- pipelines


@fake_repository("pipeline_runs")
class FakePipelineRunRepository(_Transactional[PipelineRun]):
    """Runs stored as copies (a caller's changes count only once `update`d), and, like the SQL
    repository, the run as it was after each stored change, by (run, version), for
    `changes_after`. Logging one version twice is refused as the change log's primary key is."""

    def __init__(self) -> None:
        super().__init__()
        self.changes: _KeyedTransactional[tuple[UUID, int], PipelineRun] = _KeyedTransactional()

    def begin(self) -> None:
        super().begin()
        self.changes.begin()

    def commit(self) -> None:
        super().commit()
        self.changes.commit()

    def end(self) -> None:
        super().end()
        self.changes.end()

    def seed(self, *rows: PipelineRun) -> None:
        super().seed(*(copy.deepcopy(run) for run in rows))

    def committed_run(self, run_id: UUID) -> PipelineRun:
        """The run as a later transaction would read it (a copy)."""
        run = self._committed.get(run_id)
        if run is None:
            raise AssertionError(f"no run {run_id} committed")
        return copy.deepcopy(run)

    async def add(self, run: PipelineRun) -> None:
        rows = self._rows()
        if run.id in rows:
            raise AssertionError(f"primary key {run.id} already stored")
        rows[run.id] = copy.deepcopy(run)
        self._log(run)

    async def get(self, run_id: UUID) -> PipelineRun | None:
        run = self._rows().get(run_id)
        return copy.deepcopy(run) if run is not None else None

    async def update(self, run: PipelineRun, *, expected_version: int) -> bool:
        rows = self._rows()
        stored = rows.get(run.id)
        if stored is None or stored.version != expected_version:
            return False
        rows[run.id] = copy.deepcopy(run)
        self._log(run)
        return True

    async def list_page(
        self, *, owner_id: UUID | None, after: UUID | None, limit: int
    ) -> list[PipelineRun]:
        return [
            run
            for run in self._by_id()
            if (owner_id is None or run.owner_id == owner_id) and (after is None or run.id > after)
        ][:limit]

    async def list_for_file(self, file_id: UUID) -> list[PipelineRun]:
        return [run for run in self._by_id() if run.file_id == file_id]

    async def list_for_resource(self, resource_id: UUID) -> list[PipelineRun]:
        return [run for run in self._by_id() if run.resource_id == resource_id]

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineRun]:
        return [run for run in self._by_id() if run.owner_id == owner_id]

    async def changes_after(self, run_id: UUID, version: int) -> list[PipelineRun]:
        logged = self.changes._rows()
        versions = sorted(v for (r, v) in logged if r == run_id and v > version)
        return [copy.deepcopy(logged[run_id, v]) for v in versions]

    async def delete_by_owner(self, owner_id: UUID) -> int:
        rows = self._rows()
        doomed = {run.id for run in rows.values() if run.owner_id == owner_id}
        for run_id in doomed:
            del rows[run_id]
        logged = self.changes._rows()
        for key in [key for key in logged if key[0] in doomed]:  # the log's cascade
            del logged[key]
        return len(doomed)

    def _by_id(self) -> list[PipelineRun]:
        return [copy.deepcopy(run) for _, run in sorted(self._rows().items())]

    def _log(self, run: PipelineRun) -> None:
        logged = self.changes._rows()
        if (run.id, run.version) in logged:
            raise AssertionError(f"version {run.version} of run {run.id} logged twice")
        logged[run.id, run.version] = copy.deepcopy(run)


@fake_repository("pipeline_artifacts")
class FakePipelineArtifactRepository(_KeyedTransactional[tuple[UUID, StepName], PipelineArtifact]):
    """Artifacts by (run, step): one per step of a run, as the table's unique constraint keeps."""

    async def add_if_absent(self, artifact: PipelineArtifact) -> bool:
        rows = self._rows()
        if (artifact.run_id, artifact.step) in rows:
            return False
        if any(stored.id == artifact.id for stored in rows.values()):
            raise AssertionError(f"primary key {artifact.id} already stored")
        rows[artifact.run_id, artifact.step] = artifact
        return True

    async def list_for_run(self, run_id: UUID) -> list[PipelineArtifact]:
        mine = [a for a in self._rows().values() if a.run_id == run_id]
        return sorted(mine, key=lambda artifact: artifact.created_at)

    async def list_by_owner(self, owner_id: UUID) -> list[PipelineArtifact]:
        mine = [a for a in self._rows().values() if a.owner_id == owner_id]
        return sorted(mine, key=lambda artifact: (artifact.run_id, artifact.id))

    async def delete_for_runs(self, run_ids: Sequence[UUID]) -> list[PipelineArtifact]:
        rows = self._rows()
        doomed = [key for key, artifact in rows.items() if artifact.run_id in set(run_ids)]
        return [rows.pop(key) for key in doomed]


@dataclasses.dataclass(frozen=True)
class StoredChunk:
    """A chunk as the fake chunk store keeps it: with its embedding once made (of which model)
    and whether its run's index step has made it searchable."""

    chunk: Chunk
    model: str | None = None
    dimension: int | None = None
    embedding: tuple[float, ...] | None = None
    searchable: bool = False


_KEYWORD = re.compile(r"\w+")


@fake_repository("pipeline_chunks")
class FakeChunkRepository(_KeyedTransactional[tuple[UUID, int], StoredChunk]):
    """Chunks by (run, seq), kept in the order they were added (the SQL rows' id order), with
    their embeddings. Keyword search scores a chunk by how many distinct words of the query it
    contains, where the SQL one ranks with BM25 or ts_rank_cd: the tests ask which chunks match
    and that better matches come first, not for a ranking function."""

    async def add_if_absent(self, chunks: Sequence[Chunk]) -> int:
        rows = self._rows()
        added = 0
        for chunk in chunks:
            if (chunk.run_id, chunk.seq) not in rows:
                rows[chunk.run_id, chunk.seq] = StoredChunk(chunk)
                added += 1
        return added

    async def list_for_run(self, run_id: UUID) -> list[Chunk]:
        return [stored.chunk for stored in self._of_run(run_id)]

    async def without_embedding(self, run_id: UUID, model: EmbeddingModel) -> list[Chunk]:
        return [stored.chunk for stored in self._of_run(run_id) if stored.model != model.name]

    async def set_embeddings(
        self, run_id: UUID, model: EmbeddingModel, vectors: Sequence[tuple[int, list[float]]]
    ) -> None:
        rows = self._rows()
        for seq, vector in vectors:
            stored = rows.get((run_id, seq))
            if stored is not None:  # as an UPDATE of no row: nothing
                rows[run_id, seq] = dataclasses.replace(
                    stored, model=model.name, dimension=model.dimension, embedding=tuple(vector)
                )

    async def publish(self, run_id: UUID) -> int:
        rows = self._rows()
        for stored in self._of_run(run_id):
            if stored.model is not None and not stored.searchable:
                rows[run_id, stored.chunk.seq] = dataclasses.replace(stored, searchable=True)
        return sum(stored.searchable for stored in self._of_run(run_id))

    async def delete_for_runs(self, run_ids: Sequence[UUID]) -> int:
        return self._delete(lambda chunk: chunk.run_id in set(run_ids))

    async def delete_by_owner(self, owner_id: UUID) -> int:
        return self._delete(lambda chunk: chunk.owner_id == owner_id)

    async def keyword_search(
        self, owner_id: UUID, query: str, *, limit: int, resource_id: UUID | None
    ) -> list[ChunkHit]:
        words = set(_KEYWORD.findall(query.lower()))
        hits = []
        for stored in self.searchable(owner_id, resource_id):
            overlap = len(words & set(_KEYWORD.findall(stored.chunk.text.lower())))
            if overlap:
                hits.append(ChunkHit(stored.chunk, float(overlap)))
        hits.sort(key=lambda hit: -hit.score)  # stable: ties keep the rows' order
        return hits[:limit]

    async def runs_embedded_with_other_models(
        self, model: EmbeddingModel, *, limit: int
    ) -> list[UUID]:
        runs = {
            stored.chunk.run_id
            for stored in self._rows().values()
            if stored.model is not None and stored.model != model.name
        }
        return sorted(runs)[:limit]

    def searchable(self, owner_id: UUID, resource_id: UUID | None) -> list[StoredChunk]:
        """The owner's published chunks (of one resource when it is given), in the rows' order."""
        return [
            stored
            for stored in self._rows().values()
            if stored.searchable
            and stored.chunk.owner_id == owner_id
            and (resource_id is None or stored.chunk.resource_id == resource_id)
        ]

    def _of_run(self, run_id: UUID) -> list[StoredChunk]:
        mine = [stored for (run, _), stored in self._rows().items() if run == run_id]
        return sorted(mine, key=lambda stored: stored.chunk.seq)

    def _delete(self, doomed: Callable[[Chunk], bool]) -> int:
        rows = self._rows()
        keys = [key for key, stored in rows.items() if doomed(stored.chunk)]
        for key in keys:
            del rows[key]
        return len(keys)


@fake_repository("chunk_vectors")
class FakeVectorIndex:
    """An exact cosine scan over the chunks of its unit of work's chunk store (the fake keeps no
    vectors of its own, as the SQL index reads the chunks' table): what a transaction has
    stored or published there, it searches."""

    _uow: FakeUnitOfWork

    def __init__(self) -> None:
        self.in_transaction = False

    def link(self, uow: FakeUnitOfWork) -> None:
        # The unit of work, not its chunk store: a test may swap the store after construction.
        self._uow = uow

    def begin(self) -> None:
        self.in_transaction = True

    def commit(self) -> None:
        return None

    def end(self) -> None:
        self.in_transaction = False

    async def name(self) -> str:
        return "exact"

    async def nearest(
        self,
        owner_id: UUID,
        model: EmbeddingModel,
        vector: Sequence[float],
        *,
        limit: int,
        resource_id: UUID | None,
    ) -> list[ChunkHit]:
        if not self.in_transaction:
            raise AssertionError("repository used outside `async with uow:`")
        chunks: FakeChunkRepository = self._uow.fake_pipeline_chunks
        hits = [
            ChunkHit(stored.chunk, _cosine(stored.embedding, vector))
            for stored in chunks.searchable(owner_id, resource_id)
            if stored.model == model.name and stored.embedding is not None
        ]
        hits.sort(key=lambda hit: -hit.score)
        return hits[:limit]


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    if len(a) != len(b):
        raise AssertionError(f"vectors of {len(a)} and {len(b)} dimensions compared")
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norms if norms else 0.0


class FakePasswordStrengthChecker:
    """Calls a password weak when it contains one of the user inputs or a known weak word."""

    WEAK_WORDS = ("password", "qwerty", "123456")

    async def weakness(self, password: str, *, user_inputs: Sequence[str]) -> str | None:
        lowered = password.lower()
        if any(word in lowered for word in self.WEAK_WORDS):
            return "This is a very common password."
        if any(value and value.lower() in lowered for value in user_inputs if len(value) > 2):
            return "It contains your own name or address."
        return None


class FakeUnitOfWork:
    """One transaction over every registered fake repository; counts commits and rolls back the
    rest. It serves any feature's unit-of-work Protocol, as the fakes of all repositories are here.

    `uow.products` is the repository a use case sees; `uow.fake_products` is the same object, typed
    loosely so tests can seed it and read what was committed. Pass a fake by name to share it
    between units of work: `FakeUnitOfWork(users=users)`.
    """

    def __init__(self, **repositories: _FakeRepository) -> None:
        unknown = repositories.keys() - FAKE_REPOSITORIES.keys()
        if unknown:
            raise AssertionError(f"no such repositories: {sorted(unknown)}")
        self._repositories: dict[str, _FakeRepository] = {
            name: repositories.get(name) or fake() for name, fake in FAKE_REPOSITORIES.items()
        }
        for repository in self._repositories.values():
            link = getattr(repository, "link", None)
            if link is not None:
                link(self)
        self.committed = 0
        self.entered = 0

    def __getattr__(self, name: str) -> Any:
        repositories = self.__dict__.get("_repositories", {})
        key = name.removeprefix("fake_")
        if key in repositories:
            return repositories[key]
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        # `uow.fake_resources = uow.resources = racing` swaps one repository for a test's own.
        key = name.removeprefix("fake_")
        if key in FAKE_REPOSITORIES:
            self._repositories[key] = value
        else:
            super().__setattr__(name, value)

    @property
    def in_transaction(self) -> bool:
        return any(repository.in_transaction for repository in self._repositories.values())

    async def __aenter__(self) -> Self:
        if self.in_transaction:
            raise AssertionError("unit of work entered twice without leaving")
        self.entered += 1
        for repository in self._repositories.values():
            repository.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for repository in self._repositories.values():
            repository.end()

    async def commit(self) -> None:
        if not self.in_transaction:
            raise AssertionError("commit() outside `async with uow:`")
        self.committed += 1
        for repository in self._repositories.values():
            repository.commit()


class FakeReadCache:
    """A dict that never expires; records what was loaded and every invalidation."""

    def __init__(self) -> None:
        self.entries: dict[Hashable, Any] = {}
        self.loads: list[Hashable] = []
        self.invalidations = 0

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        if key in self.entries:
            return self.entries[key]
        self.loads.append(key)
        value = await load()
        if value is not None:
            self.entries[key] = value
        return value

    async def invalidate(self) -> None:
        self.invalidations += 1
        self.entries.clear()


class FakeClock:
    """A clock that stands still until a test moves it."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.set(now)

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FakeClock needs a timezone-aware datetime")
        self._now = now.astimezone(UTC)

    def advance(self, delta: timedelta = timedelta(seconds=1)) -> datetime:
        self._now += delta
        return self._now


class FakePasswordHasher:
    """Deterministic: the hash of `p` is "hashed:" + p. Records what it was asked."""

    PREFIX = "hashed:"

    def __init__(self) -> None:
        self.hashed: list[str] = []
        self.verified: list[str] = []
        self.burned: list[str] = []

    async def hash(self, password: str) -> str:
        self.hashed.append(password)
        return self.PREFIX + password

    async def verify(self, password: str, password_hash: str) -> bool:
        self.verified.append(password)
        return password_hash == self.PREFIX + password

    async def burn_time(self, password: str) -> None:
        self.burned.append(password)


class FakeAccessTokenService:
    """Issues "token-<n>" access tokens and "mfa-<n>" MFA tokens; verifies only its own, of the
    right kind, until they expire."""

    def __init__(self, clock: FakeClock | None = None, ttl_seconds: int = 900) -> None:
        self._clock = clock if clock is not None else FakeClock()
        self._ttl = ttl_seconds
        self._claims: dict[str, AccessTokenClaims] = {}
        self._mfa_claims: dict[str, MfaTokenClaims] = {}
        self.issued: list[UUID] = []

    def issue(self, user_id: UUID, session_id: UUID) -> AccessToken:
        token = f"token-{len(self.issued) + 1}"
        now = self._clock.now()
        self._claims[token] = AccessTokenClaims(
            subject=user_id,
            session_id=session_id,
            token_id=token,
            issued_at=now,
            expires_at=now + timedelta(seconds=self._ttl),
        )
        self.issued.append(user_id)
        return AccessToken(token=token, expires_in=self._ttl)

    def verify(self, token: str) -> AccessTokenClaims:
        claims = self._claims.get(token)
        if claims is None or claims.expires_at <= self._clock.now():
            raise InvalidTokenError()
        return claims

    def issue_mfa(self, user_id: UUID) -> str:
        token = f"mfa-{len(self._mfa_claims) + 1}"
        self._mfa_claims[token] = MfaTokenClaims(
            subject=user_id, token_id=token, expires_at=self._clock.now() + timedelta(minutes=5)
        )
        return token

    def verify_mfa(self, token: str) -> MfaTokenClaims:
        claims = self._mfa_claims.get(token)
        if claims is None or claims.expires_at <= self._clock.now():
            raise InvalidTokenError()
        return claims


class FakeTokenDenyList:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self._clock = clock if clock is not None else FakeClock()
        self.denied: dict[str, datetime] = {}
        self.unavailable = False  # True: behave like an unreachable Redis

    async def deny(self, token_id: str, *, until: datetime) -> None:
        if self.unavailable:
            raise DependencyUnavailableError(retry_after_seconds=5)
        self.denied[token_id] = until

    async def is_denied(self, token_id: str) -> bool:
        if self.unavailable:
            raise DependencyUnavailableError(retry_after_seconds=5)
        until = self.denied.get(token_id)
        return until is not None and until > self._clock.now()


@fake_repository("sessions")
class FakeSessionRepository(_Transactional[Session]):
    async def add(self, session: Session) -> None:
        self._rows()[session.id] = session

    async def get(self, session_id: UUID) -> Session | None:
        return self._rows().get(session_id)

    async def rotate(self, session: Session, *, previous_hash: str) -> bool:
        rows = self._rows()
        current = rows.get(session.id)
        if current is None or current.refresh_token_hash != previous_hash:
            return False
        rows[session.id] = session
        return True

    async def list_active(self, user_id: UUID, now: datetime) -> list[Session]:
        return sorted(
            (s for s in self._rows().values() if s.user_id == user_id and s.expires_at > now),
            key=lambda s: (s.created_at, s.id),
            reverse=True,
        )

    async def delete(self, session_id: UUID) -> bool:
        return self._rows().pop(session_id, None) is not None

    async def delete_all_for_user(self, user_id: UUID, *, keep: UUID | None = None) -> int:
        doomed = [s.id for s in self._rows().values() if s.user_id == user_id and s.id != keep]
        for session_id in doomed:
            del self._rows()[session_id]
        return len(doomed)

    async def delete_expired_of_anyone(self, now: datetime, *, limit: int) -> int:
        doomed = [s.id for s in self._rows().values() if s.expires_at <= now][:limit]
        for session_id in doomed:
            del self._rows()[session_id]
        return len(doomed)

    async def prune(self, user_id: UUID, now: datetime, *, keep: int) -> int:
        mine = [s for s in self._rows().values() if s.user_id == user_id]
        newest_live = sorted(
            (s for s in mine if s.expires_at > now),
            key=lambda s: (s.created_at, s.id),
            reverse=True,
        )[:keep]
        kept = {s.id for s in newest_live}
        doomed = [s.id for s in mine if s.id not in kept]
        for session_id in doomed:
            del self._rows()[session_id]
        return len(doomed)


class FakeAccessPolicy:
    """The default policy of the Casbin model, as plain rules: admins may do anything; users may
    act on resources and files they own. Tests set `rules`; given the unit of work's stored
    rules (`source`), `refresh()` obeys what was committed there, as the real policy does."""

    def __init__(
        self,
        rules: Sequence[PolicyRule] | None = None,
        *,
        source: FakePolicyRuleRepository | None = None,
    ) -> None:
        self.rules: list[PolicyRule] = (
            list(rules) if rules is not None else list(DEFAULT_POLICY_RULES)
        )
        self._source = source
        self.refreshes = 0

    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        if not user.is_active:
            return False
        return any(
            rule.role == user.role.value
            and rule.object_type in (object_type, "*")
            and rule.action in (action, "*")
            and (rule.scope == "all" or owner_id == user.id)
            for rule in self.rules
        )

    async def refresh(self) -> None:
        self.refreshes += 1
        if self._source is not None:
            self.rules = self._source.committed


# ---------------------------------------------------------------- payments


class FakePaymentGateway:
    """The provider, in memory. Like Stripe keyed on our payment id, a request for a payment id
    seen before answers the intent created for it. Records every request; `unavailable`,
    `create_error` and `retrieve_error` make it fail as the real adapter does."""

    def __init__(self, *, status: PaymentStatus = PaymentStatus.REQUIRES_PAYMENT_METHOD) -> None:
        self.status = status  # of the intents it creates
        self.requests: list[IntentRequest] = []
        self.retrieved: list[str] = []
        self.intents: dict[str, ProviderIntent] = {}
        self.unavailable: CodedError | None = None  # raised by ensure_available
        self.create_error: CodedError | None = None
        self.retrieve_error: CodedError | None = None

    @staticmethod
    def provider_id_for(payment_id: UUID) -> str:
        return f"pi_{payment_id.hex}"

    def ensure_available(self) -> None:
        if self.unavailable is not None:
            raise self.unavailable

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        self.requests.append(request)
        if self.create_error is not None:
            raise self.create_error
        provider_id = self.provider_id_for(request.payment_id)
        if provider_id not in self.intents:
            self.intents[provider_id] = ProviderIntent(
                provider_id=provider_id,
                amount_cents=request.amount_cents,
                currency=request.currency,
                status=self.status,
                client_secret=f"{provider_id}_secret_{len(self.intents) + 1}",
            )
        return self.intents[provider_id]

    async def retrieve_intent(self, provider_id: str) -> ProviderIntent:
        self.retrieved.append(provider_id)
        if self.retrieve_error is not None:
            raise self.retrieve_error
        return self.intents[provider_id]

    def report(
        self,
        payment: Payment,
        status: PaymentStatus | None,
        *,
        failure: PaymentFailure | None = None,
        amount_cents: int | None = None,
    ) -> ProviderIntent:
        """From now on the provider describes `payment`'s intent with `status` (and `failure`)."""
        intent = ProviderIntent(
            provider_id=payment.provider_id,
            amount_cents=payment.amount_cents if amount_cents is None else amount_cents,
            currency=payment.currency,
            status=status,
            client_secret=None,
            last_failure=failure,
        )
        self.intents[payment.provider_id] = intent
        return intent


class FakeWebhookVerifier:
    """Answers `event` for any payload (or raises `error`); records what it was asked to verify."""

    def __init__(self, event: ProviderEvent | None = None) -> None:
        self.event = event
        self.error: CodedError | None = None
        self.verified: list[tuple[bytes, str | None, datetime]] = []

    def verify(
        self, payload: bytes, signature_header: str | None, *, now: datetime
    ) -> ProviderEvent:
        self.verified.append((payload, signature_header, now))
        if self.error is not None:
            raise self.error
        if self.event is None:
            raise AssertionError("FakeWebhookVerifier has no event to answer")
        return self.event


class FakeEventPublisher:
    """Records published events. Given the unit of work, also records how many commits it had
    seen at each publish and whether a transaction was open, so a test can tell that events
    left only after their change was committed."""

    def __init__(self, uow: FakeUnitOfWork | None = None) -> None:
        self._uow = uow
        self.published: list[DomainEvent] = []
        self.commits_at_publish: list[int] = []
        self.published_inside_transaction = False

    async def relay(self, events: Sequence[DomainEvent]) -> None:
        """As the outbox relay: hands committed events out (recorded here like a publish)."""
        await self.publish(events)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        self.published.extend(events)
        if self._uow is not None:
            self.commits_at_publish.append(self._uow.committed)
            if self._uow.fake_products.in_transaction:
                self.published_inside_transaction = True


class FakeSecretBox:
    """Reversible and readable: "sealed:" + the plaintext. `open` refuses anything else."""

    PREFIX = "sealed:"

    def seal(self, plaintext: str) -> str:
        return self.PREFIX + plaintext

    def open(self, sealed: str) -> str:
        if not sealed.startswith(self.PREFIX):
            raise ValueError("not sealed by this box")
        return sealed.removeprefix(self.PREFIX)


class FakeCredentialAttempts:
    """The CredentialAttempts port: records every attempt counted, in order, as (budget, key);
    past `allowed` attempts on one key it refuses with RateLimitedError, as the limiter does."""

    def __init__(self, allowed: int | None = None) -> None:
        self.allowed = allowed
        self.counted: list[tuple[str, str]] = []

    async def _count(self, budget: str, key: str) -> None:
        if self.allowed is not None and self.counted.count((budget, key)) >= self.allowed:
            raise RateLimitedError(retry_after_seconds=60)
        self.counted.append((budget, key))

    async def password_or_code(self, email: str) -> None:
        await self._count("password_or_code", email)

    async def mfa_login_code(self, user_id: UUID) -> None:
        await self._count("mfa_login_code", str(user_id))


def personal_data_holders(storage: FileStorage | None = None) -> list[PersonalDataHolder[Any]]:
    """Every feature's personal-data holder, in the app's registration order (erasure runs them
    in reverse), as the privacy use cases get them from the registry."""
    return [
        UserPersonalData(),
        SessionPersonalData(),
        ResourcePersonalData(storage if storage is not None else FakeFileStorage()),
        PaymentPersonalData(),
        AuditPersonalData(),
        IdempotencyPersonalData(),
    ]
