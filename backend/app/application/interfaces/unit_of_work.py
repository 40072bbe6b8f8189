from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from app.application.interfaces.access import PolicyRuleRepository
from app.application.interfaces.audit import AuditRepository
from app.application.interfaces.credentials import OneTimeTokenRepository, RecoveryCodeRepository
from app.application.interfaces.idempotency import IdempotencyRepository
from app.application.interfaces.payment import PaymentRepository, WebhookEventRepository
from app.application.interfaces.product import ProductRepository
from app.application.interfaces.resource import ResourceFileRepository, ResourceRepository
from app.application.interfaces.session import SessionRepository
from app.application.interfaces.user import UserRepository


class UnitOfWork(Protocol):
    """One transaction over the repositories.

    `async with uow:` opens it; `await uow.commit()` makes its writes durable; leaving the block
    without committing rolls everything back. Only use cases commit.
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

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...
