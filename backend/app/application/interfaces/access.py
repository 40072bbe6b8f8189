"""Port of access control: may this user do this action on this kind of object (owned by whom)?

The production adapter is Casbin (RBAC over roles `admin` and `user`, plus an owner rule). Use cases
ask it; routers never decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from app.domain.entities.user import User


@dataclass(frozen=True, slots=True, order=True)
class PolicyRule:
    """One policy line: `role` may do `action` on `object_type` objects; `scope` is "all" or "own"."""

    role: str
    object_type: str
    action: str
    scope: str = "all"


ROLES = ("admin", "user")
OBJECT_TYPES = ("*", "resource", "file", "policy", "audit", "user", "product")
ACTIONS = ("*", "create", "read", "update", "delete")
SCOPES = ("all", "own")

# What a fresh installation allows (seeded by the migration that creates the policy table):
# administrators everything; users their own resources and files.
DEFAULT_RULES = (
    PolicyRule("admin", "*", "*", "all"),
    *(
        PolicyRule("user", object_type, action, "own")
        for object_type in ("resource", "file")
        for action in ("create", "read", "update", "delete")
    ),
)


class AccessPolicy(Protocol):
    async def allows(
        self, user: User, action: str, object_type: str, *, owner_id: UUID | None = None
    ) -> bool:
        """True if `user` may do `action` on an object of `object_type` owned by `owner_id`."""
        ...

    async def list_rules(self) -> list[PolicyRule]: ...

    async def add_rule(self, rule: PolicyRule) -> bool:
        """False if the rule was already there."""
        ...

    async def remove_rule(self, rule: PolicyRule) -> bool:
        """False if there was no such rule."""
        ...
