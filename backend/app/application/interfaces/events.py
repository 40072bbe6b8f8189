"""Port of domain events: how a use case tells the rest of the system what happened."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from app.domain.events import DomainEvent


class EventPublisher(Protocol):
    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Hand the events to their handlers, after the transaction that made them committed.

        Never raises: a handler's failure is logged, and cannot undo the committed change."""
        ...
