"""What happens to the access policy, told to whoever listens (another service caching decisions
drops them). A rule is made of codes (role, object type, action, scope), never of a person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.domain.events import DomainEvent


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessPolicyChanged(DomainEvent):
    change: Literal["added", "removed"]
    role: str
    object_type: str
    action: str
    scope: str
