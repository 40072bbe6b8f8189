"""One builder per domain entity, for every kind of test: `make_<entity>(**overrides)` returns a
valid entity built through the entity's own factory, so a test names only the fields it is about.

Builders make values and store nothing: a test seeds a fake or adds to a repository itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.domain.entities.audit import AuditEvent
from app.domain.entities.credentials import OneTimeToken, TokenPurpose
from app.domain.entities.job import Job
from app.domain.entities.payment import Payment, PaymentStatus, whole_seconds
from app.domain.entities.product import PriceRange, Product
from app.domain.entities.resource import Resource, StoredFile
from app.domain.entities.session import Session
from app.domain.entities.user import Role, User
from app.domain.value_objects.identifiers import new_id
from tests.fakes import (
    CATEGORIES,
    DEFAULT_NOW,
    DEFAULT_PASSWORD,
    FakePasswordHasher,
    FakePaymentGateway,
    FakeSecretBox,
)


def make_product(*, now: datetime = DEFAULT_NOW, **overrides: Any) -> Product:
    """A valid product of the default categories; `overrides` replace any field."""
    fields: dict[str, Any] = {
        "name": "Desk lamp",
        "category": "electronics",
        "price_range": PriceRange.LOW,
        "price_cents": 1_999,
        "currency": "USD",
        **overrides,
    }
    return Product.create(now=now, categories=frozenset(CATEGORIES), **fields)


def make_user(
    *, password: str = DEFAULT_PASSWORD, is_active: bool = True, **overrides: Any
) -> User:
    """A registered user whose hash is what FakePasswordHasher makes of `password`;
    `overrides` replace any argument of `User.register` (email, full_name, role, now...)."""
    fields: dict[str, Any] = {
        "email": "alice@example.com",
        "password_hash": FakePasswordHasher.PREFIX + password,
        "full_name": None,
        "now": DEFAULT_NOW,
        "role": Role.USER,
        **overrides,
    }
    user = User.register(**fields)
    return user if is_active else user.model_copy(update={"is_active": False})


def make_session(**overrides: Any) -> Session:
    """A live session of a day (its refresh token is dropped: a test that needs the token
    calls `Session.start` itself); `overrides` replace any argument of `Session.start`."""
    fields: dict[str, Any] = {
        "user_id": new_id(),
        "now": DEFAULT_NOW,
        "lifetime": timedelta(days=1),
        "user_agent": None,
        "ip": None,
        **overrides,
    }
    session, _ = Session.start(**fields)
    return session


def make_one_time_token(**overrides: Any) -> OneTimeToken:
    """A fresh password-reset token (its link secret is dropped); `overrides` replace any
    argument of `OneTimeToken.issue`."""
    fields: dict[str, Any] = {
        "user_id": new_id(),
        "purpose": TokenPurpose.PASSWORD_RESET,
        "now": DEFAULT_NOW,
        **overrides,
    }
    token, _ = OneTimeToken.issue(**fields)
    return token


def make_resource(**overrides: Any) -> Resource:
    """A resource of someone's; `overrides` replace any argument of `Resource.create`."""
    fields: dict[str, Any] = {
        "owner_id": new_id(),
        "name": "Field notes",
        "description": "",
        "now": DEFAULT_NOW,
        **overrides,
    }
    return Resource.create(**fields)


def make_stored_file(**overrides: Any) -> StoredFile:
    """A small text file's metadata; `overrides` replace any field. Give `resource_id` and
    `owner_id` of a stored resource where the file must belong to one."""
    file_id = overrides.pop("id", None) or new_id()
    fields: dict[str, Any] = {
        "id": file_id,
        "resource_id": new_id(),
        "owner_id": new_id(),
        "filename": "notes.txt",
        "content_type": "text/plain",
        "size": 5,
        "sha256": "0" * 64,
        "key_id": "fake",
        "wrapped_key": b"wrapped",
        "storage_key": f"{file_id.hex[:2]}/{file_id.hex}",
        "created_at": DEFAULT_NOW,
        **overrides,
    }
    return StoredFile(**fields)


def make_audit_event(**overrides: Any) -> AuditEvent:
    """A successful login of someone's; `overrides` replace any argument of `AuditEvent.record`."""
    fields: dict[str, Any] = {
        "action": "auth.login",
        "now": DEFAULT_NOW,
        "actor_id": new_id(),
        **overrides,
    }
    return AuditEvent.record(**fields)


def make_payment(*, now: datetime = DEFAULT_NOW, **overrides: Any) -> Payment:
    """A valid payment awaiting a payment method, sealed by FakeSecretBox; `overrides` replace
    any field (validated, so a broken rule raises)."""
    payment_id = overrides.pop("id", None) or new_id()
    provider_id = overrides.pop("provider_id", None) or FakePaymentGateway.provider_id_for(
        payment_id
    )
    fields: dict[str, Any] = {
        "id": payment_id,
        "user_id": new_id(),
        "provider_id": provider_id,
        "amount_cents": 1_999,
        "currency": "USD",
        "status": PaymentStatus.REQUIRES_PAYMENT_METHOD,
        "metadata": {},
        "product_id": None,
        "sealed_client_secret": FakeSecretBox.PREFIX + f"{provider_id}_secret",
        "status_observed_at": whole_seconds(now),
        "created_at": now,
        "updated_at": now,
        **overrides,
    }
    return Payment.model_validate(fields)


def make_job(**overrides: Any) -> Job:
    """A queued job of kind "test.echo" with five attempts, made now; `overrides` replace any
    argument of `Job.create` (kind, payload, now, max_attempts, owner_id, dedupe_key)."""
    fields: dict[str, Any] = {
        "kind": "test.echo",
        "payload": {},
        "now": DEFAULT_NOW,
        "max_attempts": 5,
        **overrides,
    }
    return Job.create(**fields)
