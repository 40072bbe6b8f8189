from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Self

from sqlalchemy.exc import TimeoutError as SqlAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.application.interfaces.access import PolicyRuleRepository
from app.application.interfaces.audit import AuditRepository
from app.application.interfaces.credentials import OneTimeTokenRepository, RecoveryCodeRepository
from app.application.interfaces.idempotency import IdempotencyRepository
from app.application.interfaces.payment import PaymentRepository, WebhookEventRepository
from app.application.interfaces.product import ProductRepository
from app.application.interfaces.resource import ResourceFileRepository, ResourceRepository
from app.application.interfaces.session import SessionRepository
from app.application.interfaces.user import UserRepository
from app.infrastructure.repositories.access import SqlAlchemyPolicyRuleRepository
from app.infrastructure.repositories.audit import SqlAlchemyAuditRepository
from app.infrastructure.repositories.credentials import (
    SqlAlchemyOneTimeTokenRepository,
    SqlAlchemyRecoveryCodeRepository,
)
from app.infrastructure.repositories.idempotency import SqlAlchemyIdempotencyRepository
from app.infrastructure.repositories.payment import (
    SqlAlchemyPaymentRepository,
    SqlAlchemyWebhookEventRepository,
)
from app.infrastructure.repositories.product import SqlAlchemyProductRepository
from app.infrastructure.repositories.resource import (
    SqlAlchemyResourceFileRepository,
    SqlAlchemyResourceRepository,
)
from app.infrastructure.repositories.session import SqlAlchemySessionRepository
from app.infrastructure.repositories.user import SqlAlchemyUserRepository


class SqlAlchemyUnitOfWork:
    """One transaction on one pooled connection, from `async with` to its end.

    The connection is taken when the block starts and handed back when it ends, rolled back unless
    `commit()` was called: a request holds a connection only while a use case is inside a unit of
    work, never while it hashes a password or the response is written. Give it the write engine
    for use cases that write, the read engine (read-only connections) for those that only read.
    """

    products: ProductRepository
    users: UserRepository
    audit_events: AuditRepository
    sessions: SessionRepository
    resources: ResourceRepository
    resource_files: ResourceFileRepository
    one_time_tokens: OneTimeTokenRepository
    recovery_codes: RecoveryCodeRepository
    policy_rules: PolicyRuleRepository
    payments: PaymentRepository
    idempotency_keys: IdempotencyRepository
    webhook_events: WebhookEventRepository

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        write_gate: asyncio.Lock | None = None,
        gate_timeout: float = 10.0,
    ) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        # SQLite's write engine: one writing unit of work of this process at a time (see Database).
        self._write_gate = write_gate
        self._gate_timeout = gate_timeout
        self._holds_gate = False

    async def __aenter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; units of work do not nest")
        if self._write_gate is not None:
            try:
                await asyncio.wait_for(self._write_gate.acquire(), self._gate_timeout)
            except TimeoutError as exc:
                raise SqlAlchemyTimeoutError("waited too long for the database write lock") from exc
            self._holds_gate = True
        try:
            self._connection = await self._engine.connect()
        except BaseException:
            self._release_gate()
            raise
        self.products = SqlAlchemyProductRepository(self._connection)
        self.users = SqlAlchemyUserRepository(self._connection)
        self.audit_events = SqlAlchemyAuditRepository(self._connection)
        self.sessions = SqlAlchemySessionRepository(self._connection)
        self.resources = SqlAlchemyResourceRepository(self._connection)
        self.resource_files = SqlAlchemyResourceFileRepository(self._connection)
        self.one_time_tokens = SqlAlchemyOneTimeTokenRepository(self._connection)
        self.recovery_codes = SqlAlchemyRecoveryCodeRepository(self._connection)
        self.policy_rules = SqlAlchemyPolicyRuleRepository(self._connection)
        self.payments = SqlAlchemyPaymentRepository(self._connection)
        self.idempotency_keys = SqlAlchemyIdempotencyRepository(self._connection)
        self.webhook_events = SqlAlchemyWebhookEventRepository(self._connection)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            await connection.rollback()  # nothing to undo after a commit
        finally:
            try:
                await connection.close()
            finally:
                self._release_gate()

    def _release_gate(self) -> None:
        if self._holds_gate and self._write_gate is not None:
            self._holds_gate = False
            self._write_gate.release()

    async def commit(self) -> None:
        if self._connection is None:
            raise RuntimeError("commit() outside `async with` of the unit of work")
        await self._connection.commit()
