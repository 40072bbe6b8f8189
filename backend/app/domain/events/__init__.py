"""Domain events: facts that happened, recorded with the change that made them (the outbox) and
handed to their handlers once that change is committed.

Every concrete event class registers itself under its name, so an event read back from storage
(`DomainEvent.restore`) is the same class with the same values. Its payload is plain JSON: ids,
amounts, codes, never secrets or personal data beyond ids.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID

from app.domain.value_objects.identifiers import new_id

_EVENT_TYPES: dict[str, type[DomainEvent]] = {}


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    occurred_at: datetime
    # Unique per event: what makes a redelivered event recognisable (and a no-op) to a handler.
    # Not part of equality: two events are equal when they tell the same fact.
    event_id: UUID = field(default_factory=new_id, compare=False)
    # Bumped when a field changes meaning, so a consumer can tell old payloads from new ones.
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls) -> None:
        # No super() call: `slots=True` rebuilds the class, and a zero-argument super() in its
        # body would name the old one. object.__init_subclass__ does nothing anyway.
        _EVENT_TYPES[cls.__name__] = cls

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def aggregate_id(self) -> UUID | None:
        """The id of what the event is about (a payment, a user), for ordering and lookups."""
        return None

    def payload(self) -> dict[str, Any]:
        """The event's own fields as JSON values (ids and times as strings)."""
        return {
            item.name: _to_json(getattr(self, item.name))
            for item in dataclasses.fields(self)
            if item.name not in ("occurred_at", "event_id")
        }

    @classmethod
    def restore(
        cls, name: str, *, event_id: UUID, occurred_at: datetime, payload: dict[str, Any]
    ) -> DomainEvent:
        """The event `payload()` described, as the class registered under `name`."""
        event_type = _EVENT_TYPES.get(name)
        if event_type is None:
            raise LookupError(f"no domain event is named {name!r}")
        return event_type._from_payload(event_id, occurred_at, payload)

    @classmethod
    def _from_payload(cls, event_id: UUID, occurred_at: datetime, payload: dict[str, Any]) -> Self:
        types = {item.name: item.type for item in dataclasses.fields(cls)}
        values = {name: _from_json(types[name], value) for name, value in payload.items()}
        return cls(event_id=event_id, occurred_at=occurred_at, **values)


def _to_json(value: object) -> object:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _from_json(annotation: object, value: object) -> object:
    # Annotations are strings under `from __future__ import annotations`.
    if value is not None and "UUID" in str(annotation) and isinstance(value, str):
        return UUID(value)
    if value is not None and "datetime" in str(annotation) and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
