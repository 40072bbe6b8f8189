"""The catalog's, resources', access policy's, identity's and erasure's events survive the
outbox: written as JSON and read back, each is the same event, and its payload holds ids and codes
only."""

from __future__ import annotations

import json

import pytest

from app.domain.events import DomainEvent
from app.domain.events.access import AccessPolicyChanged
from app.domain.events.credentials import (
    EmailVerified,
    PasswordChanged,
    SecondFactorDisabled,
    SecondFactorEnabled,
)
from app.domain.events.product import ProductCreated, ProductDeleted, ProductsSeeded, ProductUpdated
from app.domain.events.resource import (
    FileDeleted,
    FileUploaded,
    ResourceCreated,
    ResourceDeleted,
    ResourceUpdated,
)
from app.domain.events.session import SessionEnded, SessionStarted
from app.domain.events.user import UserAccessChanged, UserErased, UserProfileUpdated
from app.domain.value_objects.identifiers import new_id
from tests.fakes import DEFAULT_NOW

PRODUCT, RESOURCE, FILE, OWNER = new_id(), new_id(), new_id(), new_id()
SESSION, ADMIN = new_id(), new_id()
EVENTS = [
    (ProductCreated(occurred_at=DEFAULT_NOW, product_id=PRODUCT), PRODUCT),
    (
        ProductUpdated(
            occurred_at=DEFAULT_NOW, product_id=PRODUCT, changed_fields=("price_cents", "name")
        ),
        PRODUCT,
    ),
    (ProductDeleted(occurred_at=DEFAULT_NOW, product_id=PRODUCT), PRODUCT),
    (ProductsSeeded(occurred_at=DEFAULT_NOW, count=1_000), None),
    (ResourceCreated(occurred_at=DEFAULT_NOW, resource_id=RESOURCE, owner_id=OWNER), RESOURCE),
    (
        ResourceUpdated(
            occurred_at=DEFAULT_NOW, resource_id=RESOURCE, owner_id=OWNER, changed_fields=("name",)
        ),
        RESOURCE,
    ),
    (ResourceDeleted(occurred_at=DEFAULT_NOW, resource_id=RESOURCE, owner_id=OWNER), RESOURCE),
    (
        FileUploaded(
            occurred_at=DEFAULT_NOW,
            file_id=FILE,
            resource_id=RESOURCE,
            owner_id=OWNER,
            content_type="image/png",
            size=42,
        ),
        FILE,
    ),
    (
        FileDeleted(occurred_at=DEFAULT_NOW, file_id=FILE, resource_id=RESOURCE, owner_id=OWNER),
        FILE,
    ),
    (
        AccessPolicyChanged(
            occurred_at=DEFAULT_NOW,
            change="added",
            role="user",
            object_type="product",
            action="read",
            scope="all",
        ),
        None,
    ),
    (UserErased(occurred_at=DEFAULT_NOW, user_id=OWNER), OWNER),
    (SessionStarted(occurred_at=DEFAULT_NOW, session_id=SESSION, user_id=OWNER), SESSION),
    (
        SessionEnded(occurred_at=DEFAULT_NOW, session_id=SESSION, user_id=OWNER, reason="revoked"),
        SESSION,
    ),
    (PasswordChanged(occurred_at=DEFAULT_NOW, user_id=OWNER, via="change"), OWNER),
    (SecondFactorEnabled(occurred_at=DEFAULT_NOW, user_id=OWNER), OWNER),
    (SecondFactorDisabled(occurred_at=DEFAULT_NOW, user_id=OWNER), OWNER),
    (EmailVerified(occurred_at=DEFAULT_NOW, user_id=OWNER), OWNER),
    (
        UserAccessChanged(
            occurred_at=DEFAULT_NOW, user_id=OWNER, role="admin", active=False, changed_by=ADMIN
        ),
        OWNER,
    ),
    (
        UserProfileUpdated(occurred_at=DEFAULT_NOW, user_id=OWNER, changed_fields=("full_name",)),
        OWNER,
    ),
]


@pytest.mark.parametrize(("event", "aggregate_id"), EVENTS, ids=lambda v: type(v).__name__)
def test_an_event_read_back_from_json_is_the_same_event(
    event: DomainEvent, aggregate_id: object
) -> None:
    payload = json.loads(json.dumps(event.payload()))
    restored = DomainEvent.restore(
        event.name, event_id=event.event_id, occurred_at=event.occurred_at, payload=payload
    )

    assert restored == event
    assert type(restored) is type(event)
    assert restored.aggregate_id == aggregate_id


def test_changed_fields_are_kept_sorted() -> None:
    event = ProductUpdated(
        occurred_at=DEFAULT_NOW, product_id=PRODUCT, changed_fields=("name", "currency")
    )

    assert event.changed_fields == ("currency", "name")
    assert event.payload() == {"product_id": str(PRODUCT), "changed_fields": ("currency", "name")}
